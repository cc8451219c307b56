import ArgumentParser
import FleetEngine
import FleetModel
import Foundation

struct LeftoversCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leftovers",
        abstract: "List (or drop) the databases gwi-fleet left on the fleet's servers: replaced, restoring and verify copies.",
        discussion: """
            A dry run unless both --drop and --yes are given. Only names gwi-fleet makes are ever dropped \
            (`…__replaced_<time>`, `…__restoring_<time>`, `gwi_verify_<slug>_<time>_<hex>`), and only when \
            older than --older-than. Example: gwi-fleet leftovers --drop --older-than 7d --yes
            """)

    @Flag(name: .long, help: "Drop the leftovers older than --older-than (with --yes; otherwise say what would go).")
    var drop = false

    @Option(name: .customLong("older-than"), help: "Only leftovers at least this old, e.g. 7d, 36h (default 7d).")
    var olderThan: String = "7d"

    @Flag(name: .long, help: "Really drop (with --drop).")
    var yes = false

    @OptionGroup var fileOptions: FleetFileOptions
    var options: FleetOptions { FleetOptions(fileOptions) }

    func validate() throws {
        if FleetDuration.parse(olderThan) == nil { throw ValidationError("--older-than: bad duration `\(olderThan)` (write e.g. 7d, 36h)") }
    }

    func run() async throws {
        let session = try await FleetSession(options: options)
        let operation = LeftoversOperation(fleet: session.fleet)
        var (decisions, unreachable) = await operation.plan(olderThan: FleetDuration.parse(olderThan) ?? .seconds(7 * 86_400))
        let dropping = drop && yes
        if dropping { decisions = await operation.drop(decisions) }
        let action = { (decision: LeftoversOperation.Decision) -> String in
            guard decision.drop else { return "keep: \(decision.reason)" }
            if !drop { return "would drop with --drop --yes: \(decision.reason)" }
            if !dropping { return "would drop (add --yes): \(decision.reason)" }
            return decision.error.map { "NOT dropped: \($0)" } ?? "dropped: \(decision.reason)"
        }
        if options.json {
            Terminal.out(JSONValue.object([
                ("dry_run", .bool(!dropping)),
                ("leftovers", .array(decisions.map { decision in
                    .object([("server", .string(decision.server)), ("database", .string(decision.database.name)),
                             ("kind", .string(decision.database.kind ?? "")), ("bytes", decision.database.bytes.map(JSONValue.int) ?? .null),
                             ("age_seconds", decision.database.ageSeconds.map(JSONValue.int) ?? .null),
                             ("drop", .bool(decision.drop)), ("dropped", .bool(dropping && decision.drop && decision.error == nil)),
                             ("reason", .string(decision.reason)), ("error", decision.error.map(JSONValue.string) ?? .null)])
                })),
                ("unreachable", .array(unreachable.map { .object([("server", .string($0.0)), ("error", .string($0.1))]) })),
            ]).serialized(), terminator: "")
        } else {
            Terminal.out(Terminal.table(headers: ["SERVER", "DATABASE", "KIND", "AGE", "SIZE", "ACTION"], rows: decisions.map { decision in
                [decision.server, decision.database.name, decision.database.kind ?? "",
                 decision.database.ageSeconds.map { Terminal.age(TimeInterval($0)) } ?? "?",
                 decision.database.bytes.map(ByteCount.human) ?? "?", action(decision)]
            }))
            Terminal.out(decisions.isEmpty ? "no leftovers" : "\(decisions.count) leftovers" + (dropping ? "" : " (dry run)"))
        }
        for (server, error) in unreachable { Terminal.error("\(server): not checked: \(error)") }
        let failed = !unreachable.isEmpty || decisions.contains { $0.error != nil }
        throw ExitCode(failed ? ExitCodes.venueFailed : ExitCodes.ok)
    }
}

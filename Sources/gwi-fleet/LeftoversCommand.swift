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
            (`…__replaced_<time>`, `…__restoring_<time>`, `gwi_verify_<slug>_<time>_<hex>`), only when gwi-fleet \
            recorded making them, never a venue's database, and only when older than --older-than. With a \
            stale venue list (discovery failed) nothing is dropped. Example: gwi-fleet leftovers --drop --older-than 7d --yes
            """)

    @Flag(name: .long, help: "Drop the leftovers older than --older-than (with --yes; otherwise say what would go).")
    var drop = false

    @Option(name: .customLong("older-than"), help: "Only leftovers at least this old, e.g. 7d, 36h; 0s: any age (default 7d).")
    var olderThan: String = "7d"

    @Flag(name: .long, help: "Really drop (with --drop).")
    var yes = false

    @OptionGroup var fileOptions: FleetFileOptions
    var options: FleetOptions { FleetOptions(fileOptions) }

    func validate() throws {
        if FleetDuration.parseAge(olderThan) == nil { throw ValidationError("--older-than: bad duration `\(olderThan)` (write e.g. 7d, 36h, or 0s for any age)") }
    }

    func run() async throws {
        let session = try await CommandSession(options: options, command: "leftovers")
        let operation = LeftoversOperation(fleet: session.fleet, discovery: session.discovery)
        var (decisions, unreachable) = await operation.plan(olderThan: FleetDuration.parseAge(olderThan) ?? .seconds(7 * 86_400))
        let refusal = operation.dropRefusal
        let dropping = drop && yes && refusal == nil
        if dropping {
            decisions = await operation.drop(decisions)
            let dropped = decisions.filter(\.drop).map { decision in
                AuditEntry.Target(server: decision.server, database: decision.database.name, status: decision.error == nil ? "dropped" : "failed",
                                  detail: decision.error ?? decision.reason)
            }
            let failed = !unreachable.isEmpty || decisions.contains { $0.error != nil }
            let entry = AuditTrail.entry(runID: RunReport.newRunID(), command: "leftovers", arguments: CommandLine.arguments, fleet: session.fleet,
                                         targets: dropped, exitCode: failed ? ExitCodes.venueFailed : ExitCodes.ok)
            do { try AuditTrail.append(entry, in: session.fleet.reportsDirectory) } catch {
                Terminal.error("error: audit trail not written: \(error)")
            }
        }
        let action = { (decision: LeftoversOperation.Decision) -> String in
            guard decision.drop else { return "keep: \(decision.reason)" }
            if refusal != nil { return "kept: the venue list is stale (see below)" }
            if !drop { return "would drop with --drop --yes: \(decision.reason)" }
            if !dropping { return "would drop (add --yes): \(decision.reason)" }
            return decision.error.map { "NOT dropped: \($0)" } ?? "dropped: \(decision.reason)"
        }
        if options.json {
            Terminal.out(JSONCoding.text(LeftoversJSON(
                dryRun: !dropping,
                leftovers: decisions.map { decision in
                    LeftoversJSON.Leftover(server: decision.server, database: decision.database.name, kind: decision.database.kind ?? "",
                                           bytes: decision.database.bytes, ageSeconds: decision.database.ageSeconds, drop: decision.drop,
                                           dropped: dropping && decision.drop && decision.error == nil, reason: decision.reason,
                                           error: decision.error)
                },
                unreachable: unreachable.map { LeftoversJSON.Unreachable(server: $0.0, error: $0.1) })), terminator: "")
        } else {
            Terminal.out(Terminal.table(headers: ["SERVER", "DATABASE", "KIND", "AGE", "SIZE", "ACTION"], rows: decisions.map { decision in
                [decision.server, decision.database.name, decision.database.kind ?? "",
                 decision.database.ageSeconds.map { Terminal.age(TimeInterval($0)) } ?? "?",
                 decision.database.bytes.map(ByteCount.human) ?? "?", action(decision)]
            }))
            Terminal.out(decisions.isEmpty ? "no leftovers" : "\(decisions.count) leftovers" + (dropping ? "" : " (dry run)"))
        }
        for (server, error) in unreachable { Terminal.error("\(server): not checked: \(error)") }
        // A stale list: listing is fine, said stale; dropping is refused and fails the run.
        if let refusal { Terminal.error(drop && yes ? "--drop refused: \(refusal)" : "the venue list is stale: --drop would drop nothing (\(refusal))") }
        let failed = !unreachable.isEmpty || decisions.contains { $0.error != nil } || (drop && yes && refusal != nil)
        throw ExitCode(failed ? ExitCodes.venueFailed : ExitCodes.ok)
    }
}

/// `leftovers --json`.
struct LeftoversJSON: Encodable {
    struct Leftover: Encodable {
        var server, database, kind: String
        var bytes, ageSeconds: Int?
        var drop, dropped: Bool
        var reason: String
        var error: String?
        enum CodingKeys: String, CodingKey { case server, database, kind, bytes, ageSeconds = "age_seconds", drop, dropped, reason, error }
    }
    struct Unreachable: Encodable { var server, error: String }
    var dryRun: Bool
    var leftovers: [Leftover]
    var unreachable: [Unreachable]
    enum CodingKeys: String, CodingKey { case dryRun = "dry_run", leftovers, unreachable }
}

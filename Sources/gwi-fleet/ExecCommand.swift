import ArgumentParser
import FleetEngine
import FleetModel
import Foundation

struct ExecCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command once per venue (e.g. a migration), backing each venue up first, with rollback on failure.",
        discussion: """
            The command gets DATABASE_URL (the pooled URL), DIRECT_URL, GWI_VENUE_SLUG and GWI_VENUE_DATABASE in \
            its environment (any password only there). It runs without a shell: write `sh -c '…'` for one. \
            Example: gwi-fleet exec --rollback --canary 1 -- npx prisma migrate deploy
            """)

    @Flag(name: .customLong("no-backup"), help: "Do not back up each venue first (a warning in the report).")
    var noBackup = false

    @Flag(name: .long, help: "When the command fails on a venue, restore that venue from the backup just taken.")
    var rollback = false

    @Flag(name: .long, help: "Roll back with restore --in-place (where databases cannot be renamed).")
    var inPlace = false

    @Option(name: .long, help: "Run on this many venues first; stop if any of them fails.")
    var canary: Int?

    @Option(name: .customLong("max-failures"), help: "Stop starting venues after this many failures; the rest are skipped.")
    var maxFailures: Int?

    @OptionGroup var venueOptions: VenueCommandOptions
    var options: FleetOptions {
        var options = venueOptions.options
        if options.jobs == nil { options.jobs = 1 }  // a rollout goes one venue at a time unless asked
        return options
    }

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command after --, e.g. gwi-fleet exec -- npx prisma migrate deploy") }
        if rollback && noBackup { throw ValidationError("--rollback needs the backup that --no-backup skips") }
        if let canary, canary < 1 { throw ValidationError("--canary must be at least 1") }
        if let maxFailures, maxFailures < 1 { throw ValidationError("--max-failures must be at least 1") }
    }

    static var leavesMasterOut: Bool { true }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        let started = Timestamp.compact(WallClock.now())
        let operation = ExecOperation(command: command, backupFirst: !noBackup, rollback: rollback, inPlace: inPlace,
                                      logDirectory: session.fleet.reportsDirectory + "/exec-\(started)", tools: try await locateTools())
        return RunPlan(operation: { try await operation.run($0) }, maxFailures: maxFailures, canary: canary)
    }
}

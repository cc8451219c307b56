import ArgumentParser
import FleetEngine
import FleetModel
import Foundation

struct ExecCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command once per venue (e.g. a migration), backing each venue up first, with rollback on failure.",
        discussion: """
            The command gets DATABASE_URL (the pooled URL), DIRECT_URL, GWI_VENUE_SLUG, GWI_VENUE_DATABASE and \
            PGPASSWORD in its environment (any password only there), and of gwi-fleet's own environment only \
            PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TZ, TERM, TMPDIR and what --pass-env names. \
            Known secrets are replaced by *** in its log. It runs without a shell: write `sh -c '…'` for one. \
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

    @Option(name: .customLong("pass-env"), help: ArgumentHelp("Also hand the command this variable of gwi-fleet's environment (repeatable; NAME or PREFIX*).", valueName: "NAME"))
    var passEnv: [String] = []

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
        for name in passEnv where name.isEmpty || name == "*" || name.dropLast(name.hasSuffix("*") ? 1 : 0).contains(where: { !($0.isLetter || $0.isNumber || $0 == "_") }) {
            throw ValidationError("--pass-env \(name): give a variable name, or a prefix ending in * (not * alone)")
        }
    }

    static var leavesMasterOut: Bool { true }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        // A directory of this run's own: two runs in one second never share a log file.
        let started = Timestamp.compact(WallClock.now())
        let secrets = session.fleet.secretVariables
        if let name = passEnv.first(where: { secrets.contains($0) }) {
            throw ValidationError("--pass-env \(name): the fleet file names it as a secret (password_env, identity_env or api_key_env); the command gets the venue's own password as PGPASSWORD and in its URLs")
        }
        let operation = ExecOperation(command: command, backupFirst: !noBackup, rollback: rollback, inPlace: inPlace,
                                      logDirectory: session.fleet.reportsDirectory + "/exec-\(started)-\(String(format: "%08x", UInt32.random(in: 0...UInt32.max)))", tools: try await locateTools(),
                                      environment: ExecEnvironment(passEnv: passEnv, secretVariables: secrets))
        return RunPlan(operation: { try await operation.run($0) }, maxFailures: maxFailures, canary: canary, audited: true)
    }
}

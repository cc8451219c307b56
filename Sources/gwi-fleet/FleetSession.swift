import ArgumentParser
import FleetEngine
import FleetModel
import Foundation
import Logging

/// A command's resolved request with the terminal attached: log lines on stderr, the progress
/// line, and the report printed at the end. The rules (which fleet file, which venues, which
/// timeout) are the engine's `ResolvedRequest`; this only talks to the terminal.
struct CommandSession {
    let options: FleetOptions
    let resolved: ResolvedRequest
    let logger: Logger

    var fleet: Fleet { resolved.fleet }
    var venues: [Venue] { resolved.venues }
    var discovery: DiscoveryStatus? { resolved.discovery }

    /// Resolves the request; one that cannot run (invalid fleet file, failed discovery with no
    /// saved list, unknown venue, bad shard) exits 2 before anything is touched.
    init(options: FleetOptions, command: String, leavesMasterOut: Bool = false, applyingShard: Bool = true,
         backupName: String? = nil) async throws {
        self.options = options
        if let problem = WallClock.problem {
            Terminal.error(problem)
            throw ExitCode(ExitCodes.usage)
        }
        let format: LineLogHandler.Format = options.logFormat == .json ? .json : .logfmt
        LoggingSystem.bootstrap { _ in LineLogHandler(format: format) }
        logger = Logger(label: "gwi-fleet")
        var request = options.request(command: command)
        request.leavesMasterOut = leavesMasterOut
        request.applyShard = applyingShard
        request.backupName = backupName
        do {
            resolved = try await ResolvedRequest.resolve(request)
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(ExitCodes.usage)
        }
        // Said on stderr as the run starts; on a terminal, where the summary ends with the run's
        // problems (these among them), only there: each problem once.
        if !(Terminal.stderrIsTerminal && Terminal.stdoutIsTerminal) {
            for problem in resolved.discovery?.problems ?? [] { Terminal.error("warning: \(problem)") }
        }
    }

    /// Runs `plan` on the selected venues through the engine's run lifecycle, with the terminal
    /// as a sink, and returns the report (already saved when the path is set).
    func run(_ plan: RunPlan) async -> (RunReport, String?) {
        let progress = Progress(logger: logger, quiet: options.quiet)
        let audit: [any RunSink] = plan.audited ? [AuditSink(fleet: fleet, arguments: CommandLine.arguments, logger: logger)] : []
        let run = FleetRun(command: resolved.request.command, fleet: fleet, venues: venues, maxFailures: plan.maxFailures,
                           canary: plan.canary, strict: plan.strict, sinks: resolved.sinks(logger: logger, extra: [progress] + audit),
                           logger: logger, discovery: discovery, shard: resolved.shard)
        let ticker = Task { await progress.tick() }
        let (report, path) = await run.run(plan.operation, conclude: plan.conclude)
        ticker.cancel()
        return (report, path)
    }

    /// Prints the report (JSON, or rendered as `format`) and exits with its code.
    func finish(_ report: RunReport, savedAt path: String?, format: ReportFormat = .table) -> Never {
        if options.json {
            Terminal.out(report.jsonText, terminator: "")
        } else if options.quiet {
            Terminal.out(ReportRendering.quiet(report))
        } else {
            // Without a terminal, stderr's log lines already gave each venue: the table only when asked.
            let statusTable = Terminal.stderrIsTerminal || options.venueTable
            Terminal.out(ReportRendering.render(report, format: format, savedAt: format == .table ? path : nil,
                                                statusTable: statusTable, color: Terminal.color))
        }
        Foundation.exit(report.exitCode)
    }
}

/// What a command runs over its venues: the operation, what the fleet adds at the end, and how
/// failures count.
struct RunPlan {
    var operation: @Sendable (Venue) async throws -> (any VenueResult)?
    var conclude: @Sendable ([VenueOutcome]) async -> FleetRun.Conclusion = { _ in FleetRun.Conclusion() }
    /// A warning fails the run (`sweep --strict`).
    var strict = false
    var maxFailures: Int?
    var canary: Int?
    /// The run changes something (a restore, a migration, deleted backups, …): it appends its
    /// line to the audit trail.
    var audited = false
}

/// A command that runs one operation over the fleet. It says what to run (`plan`) and, when it
/// prints more than the report, how to present it; `run()` is the same for all of them: resolve
/// the request, run the plan with the terminal attached, print the report, exit with its code.
protocol VenueCommand: AsyncParsableCommand {
    /// The options the request is made of.
    var options: FleetOptions { get }
    /// Leaves the master database out unless `--venue` names it.
    static var leavesMasterOut: Bool { get }
    /// A bare backup name whose venue is the selection (`verify --backup NAME`).
    var backupName: String? { get }
    var reportFormat: ReportFormat { get }
    func plan(_ session: CommandSession) async throws -> RunPlan
    func present(_ report: RunReport, savedAt path: String?, session: CommandSession) throws -> Never
}

extension VenueCommand {
    static var leavesMasterOut: Bool { false }
    var backupName: String? { nil }
    var reportFormat: ReportFormat { .table }

    func present(_ report: RunReport, savedAt path: String?, session: CommandSession) throws -> Never {
        session.finish(report, savedAt: path, format: reportFormat)
    }

    func run() async throws {
        let session = try await CommandSession(options: options, command: Self.configuration.commandName ?? "?",
                                               leavesMasterOut: Self.leavesMasterOut, backupName: backupName)
        let plan = try await plan(session)
        let (report, path) = await session.run(plan)
        try present(report, savedAt: path, session: session)
    }
}

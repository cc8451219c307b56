import ArgumentParser
import FleetEngine
import FleetModel
import Foundation
import Logging
import Synchronization

/// Loads the fleet, runs one operation through the runner with progress and signal handling,
/// then saves and prints the report and exits with its code.
struct FleetSession {
    let options: FleetOptions
    let fleet: Fleet
    let venues: [Venue]
    let logger: Logger

    /// Reads and validates the fleet file; an invalid one exits 2 before anything is touched.
    init(options: FleetOptions) throws {
        self.options = options
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        logger = Logger(label: "gwi-fleet")
        do {
            var fleet = try FleetFile.load(path: options.fleet)
            let problems = FleetPreflight.problems(in: fleet)
            if !problems.isEmpty { throw FleetFileError.invalid(path: fleet.path, problems: problems) }
            if let jobs = options.jobs { fleet.jobs = jobs }
            if let directory = options.reportsDirectory {
                fleet.reportsDirectory = URL(fileURLWithPath: directory).standardizedFileURL.path
            }
            self.fleet = fleet
            venues = try fleet.selecting(slugs: options.venue, tags: options.tag)
        } catch let error as FleetFileError {
            Terminal.error(error.description)
            throw ExitCode(ExitCodes.usage)
        } catch let error as SelectionError {
            Terminal.error(error.description)
            throw ExitCode(ExitCodes.usage)
        }
    }

    /// Runs `operation` on the selected venues through the engine's run lifecycle, with the
    /// terminal as a sink, and returns the report (already saved when the path is set).
    func run(command: String, strict: Bool = false, maxFailures: Int? = nil, canary: Int? = nil,
             conclude: @escaping @Sendable ([VenueOutcome]) async -> FleetRun.Conclusion = { _ in FleetRun.Conclusion() },
             operation: @escaping @Sendable (Venue) async throws -> VenueFigures) async -> (RunReport, String?) {
        let progress = Progress(logger: logger)
        let run = FleetRun(command: command, fleet: fleet, venues: venues, timeoutOverride: options.timeoutOverride,
                           maxFailures: maxFailures, canary: canary, strict: strict, sinks: [progress], logger: logger)
        let ticker = Task { await progress.tick() }
        let (report, path) = await run.run(operation, conclude: conclude)
        ticker.cancel()
        return (report, path)
    }

    /// Prints the report (JSON, or rendered as `format`) and exits with its code.
    func finish(_ report: RunReport, savedAt path: String?, format: ReportFormat = .table) throws -> Never {
        if options.json {
            Terminal.out(report.json.serialized(), terminator: "")
        } else {
            Terminal.out(ReportRendering.render(report.json, format: format, savedAt: format == .table ? path : nil))
        }
        Foundation.exit(report.exitCode)
    }
}

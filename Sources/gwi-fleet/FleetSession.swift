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

    /// Runs `operation` on the selected venues and returns the report (already saved).
    func run(command: String, strict: Bool = false, maxFailures: Int? = nil, canary: Int? = nil,
             fleetFields: @Sendable ([VenueOutcome]) async -> [(String, JSONValue)] = { _ in [] },
             operation: @escaping @Sendable (Venue) async throws -> VenueFigures) async -> (FleetReport, String?) {
        let startedAt = Date()
        let progress = Progress(total: venues.filter(\.enabled).count, logger: logger)
        let runner = FleetRunner(jobs: fleet.jobs, timeoutOverride: options.timeoutOverride, maxFailures: maxFailures) {
            progress.handle($0)
        }
        let venues = self.venues
        let work = Task {
            if let canary { await runner.run(venues, canary: canary, operation: operation) }
            else { await runner.run(venues, operation: operation) }
        }
        let interruption = Interruption { work.cancel() }
        let ticker = Task { await progress.tick() }
        let outcomes = await work.value
        ticker.cancel()
        progress.finish()
        interruption.stop()
        let fields = await fleetFields(outcomes)
        let report = FleetReport(command: command, fleetPath: fleet.path, startedAt: startedAt, finishedAt: Date(),
                                 interrupted: interruption.fired, outcomes: outcomes, strict: strict, fleetFields: fields)
        do {
            return (report, try report.save(in: fleet.reportsDirectory))
        } catch {
            Terminal.error("could not save the report in \(fleet.reportsDirectory): \(error)")
            return (report, nil)
        }
    }

    /// Prints the report (JSON, or rendered as `format`) and exits with its code.
    func finish(_ report: FleetReport, savedAt path: String?, format: ReportFormat = .table) throws -> Never {
        if options.json {
            Terminal.out(report.json.serialized(), terminator: "")
        } else {
            Terminal.out(ReportRendering.render(report.json, format: format, savedAt: format == .table ? path : nil))
        }
        Foundation.exit(report.exitCode)
    }
}

/// Turns SIGINT and SIGTERM into cancellation of the running work, once.
final class Interruption {
    /// Set once a signal arrived; read after the work has finished.
    final class Flag: Sendable {
        let value = Mutex(false)
        /// Sets the flag; true only for the first caller.
        func raise() -> Bool { value.withLock { fired in defer { fired = true }; return !fired } }
    }

    private let sources: [any DispatchSourceSignal]
    private let flag = Flag()

    init(onSignal: @escaping @Sendable () -> Void) {
        let queue = DispatchQueue(label: "gwi-fleet.signals")
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            sources.append(source)
        }
        self.sources = sources
        for source in sources {
            source.setEventHandler { [flag] in
                if flag.raise() {
                    Terminal.error("\ninterrupted: stopping running venues, writing the report…")
                    onSignal()
                }
            }
            source.resume()
        }
    }

    var fired: Bool { flag.value.withLock { $0 } }

    func stop() {
        sources.forEach { $0.cancel() }
    }
}

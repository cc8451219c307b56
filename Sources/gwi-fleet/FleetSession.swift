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
    let discovery: DiscoveryStatus?
    /// This run's part of a split run, with every venue of the whole run.
    let shard: RunReport.ShardInfo?

    /// Reads and validates the fleet file and runs its discovery; an invalid file, or a failed
    /// discovery with no saved list to fall back on, exits 2 before anything is touched.
    /// `command`: commands that leave the master database out unless `--venue` names it pass theirs.
    /// `backupName`: a bare backup file name (`gwi_pos_joes_bar-20261126T020000Z.dump.zst`) whose
    /// venue, found by its database name, is the selection when no `--venue`/`--tag` is given.
    init(options: FleetOptions, leavingMasterOutOf command: String? = nil, applyingShard: Bool = true,
         backupName: String? = nil) async throws {
        self.options = options
        let format: LineLogHandler.Format = options.logFormat == .json ? .json : .logfmt
        LoggingSystem.bootstrap { _ in LineLogHandler(format: format) }
        logger = Logger(label: "gwi-fleet")
        do {
            let path: String
            switch options.fleetPath() {
            case .success(let found): path = found
            case .failure(let error):
                Terminal.error(error.message)
                throw ExitCode(ExitCodes.usage)
            }
            let loaded = try await FleetLoader.load(
                path: path, reportsDirectory: options.reportsDirectory.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
            var fleet = loaded.fleet
            if let jobs = options.jobs { fleet.jobs = jobs }
            self.fleet = fleet
            discovery = loaded.discovery
            if let problem = loaded.discovery?.problem { Terminal.error("warning: \(problem)") }
            var slugs = options.venue
            if let backupName, slugs.isEmpty, options.tag.isEmpty {
                guard let owner = fleet.venues.filter({ backupName.hasPrefix($0.database + "-") }).max(by: { $0.database.count < $1.database.count }) else {
                    Terminal.error("backup \(backupName) belongs to no venue of the fleet (a backup's name starts with its venue's database and `-`); name the venue with --venue")
                    throw ExitCode(ExitCodes.usage)
                }
                slugs = [owner.slug]
            }
            var venues = try fleet.selecting(slugs: slugs, tags: options.tag)
            let split: Shard?
            do { split = applyingShard ? try options.resolvedShard() : nil } catch let error as ValidationError {
                Terminal.error(error.message)
                throw ExitCode(ExitCodes.usage)
            }
            if let split {
                shard = RunReport.ShardInfo(index: split.index, count: split.count, allVenues: venues.map(\.slug))
                venues = venues.filter { split.contains($0.slug) }
            } else {
                shard = nil
            }
            if let command {
                for index in venues.indices where venues[index].kind == .master && !options.venue.contains(venues[index].slug) {
                    venues[index].skipReason = "master database: \(command) leaves it out unless named with --venue"
                }
            }
            self.venues = venues
        } catch let error as FleetLoadError {
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
             operation: @escaping @Sendable (Venue) async throws -> (any VenueResult)?) async -> (RunReport, String?) {
        let progress = Progress(logger: logger, quiet: options.quiet)
        var sinks: [any RunSink] = [progress]
        if !fleet.notify.isEmpty {
            sinks.append(NotificationSink(targets: fleet.notify, reportsDirectory: fleet.reportsDirectory, logger: logger))
        }
        if fleet.metricsTextfile != nil || fleet.metricsPushgateway != nil {
            sinks.append(MetricsSink(textfile: fleet.metricsTextfile, pushgateway: fleet.metricsPushgateway, logger: logger))
        }
        let run = FleetRun(command: command, fleet: fleet, venues: venues, timeoutOverride: options.timeoutOverride,
                           maxFailures: maxFailures, canary: canary, strict: strict, sinks: sinks, logger: logger,
                           discovery: discovery, shard: shard)
        let ticker = Task { await progress.tick() }
        let (report, path) = await run.run(operation, conclude: conclude)
        ticker.cancel()
        return (report, path)
    }

    /// The coverage check of `check`, `backup` and `sweep`: databases no venue covers, and leftovers.
    /// In a split run only shard 0 checks coverage, so the merged report has it once.
    var coverage: @Sendable ([VenueOutcome]) async -> FleetRun.Conclusion {
        let coverage = Coverage(fleet: fleet)
        guard (shard?.index ?? 0) == 0 else { return { _ in FleetRun.Conclusion() } }
        return { _ in await coverage.conclusion() }
    }

    /// Prints the report (JSON, or rendered as `format`) and exits with its code.
    func finish(_ report: RunReport, savedAt path: String?, format: ReportFormat = .table) throws -> Never {
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

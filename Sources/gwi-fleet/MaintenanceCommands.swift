import ArgumentParser
import FleetEngine
import FleetModel
import Foundation

struct AnalyzeCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze", abstract: "ANALYZE every venue (VACUUM (ANALYZE) with --vacuum), under lock and statement timeouts.",
        discussion: "Example: gwi-fleet analyze --vacuum --jobs 2")

    @Flag(name: .long, help: "Run VACUUM (ANALYZE) instead of ANALYZE.")
    var vacuum = false

    @Option(name: .long, help: "table, markdown or csv.")
    var format: ReportFormat = .table

    @OptionGroup var venueOptions: VenueCommandOptions
    var options: FleetOptions { venueOptions.options }

    var reportFormat: ReportFormat { format }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        let operation = AnalyzeOperation(vacuum: vacuum)
        return RunPlan(operation: { try await operation.run($0) })
    }
}

struct SizesCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "sizes", abstract: "Each venue's database size and largest tables, with fleet-wide totals.",
        discussion: "Example: gwi-fleet sizes --top 20")

    @Option(name: .long, help: "How many of the largest tables, per venue and across the fleet.")
    var top: Int = 20

    @Option(name: .long, help: "table, markdown or csv (csv: one row per table, exact bytes).")
    var format: ReportFormat = .table

    @OptionGroup var venueOptions: VenueCommandOptions
    var options: FleetOptions { venueOptions.options }

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1") }
    }

    var reportFormat: ReportFormat { format }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        let (operation, top) = (SizesOperation(top: top), top)
        return RunPlan(operation: { try await operation.run($0) },
                       conclude: { FleetRun.Conclusion(totals: SizesOperation.fleetTotals($0, top: top)) })
    }
}

struct CountsCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "counts", abstract: "Exact row counts per table, with the drift from each venue's latest backup.",
        discussion: "Example: gwi-fleet counts --table Order --table MenuItem")

    @Option(name: .long, help: "Only this table (`Order` or `public.Order`); repeatable. Default: every user table.")
    var table: [String] = []

    @Option(name: .long, help: "table, markdown or csv.")
    var format: ReportFormat = .table

    @OptionGroup var venueOptions: VenueCommandOptions
    var options: FleetOptions { venueOptions.options }

    static var leavesMasterOut: Bool { true }
    var reportFormat: ReportFormat { format }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        let operation = CountsOperation(tables: table)
        return RunPlan(operation: { try await operation.run($0) })
    }
}

struct SweepCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "The weekly maintenance job: analyze, sizes, counts of verify.tables and a health verdict per venue.",
        discussion: "Example: gwi-fleet sweep --format markdown   (weekly: ANALYZE, sizes, row counts, backup freshness)")

    @Flag(name: .long, help: "VACUUM (ANALYZE) instead of ANALYZE.")
    var vacuum = false

    @Flag(name: .long, help: "Exit 1 when any venue has a warning.")
    var strict = false

    @Option(name: .long, help: "How many of the largest tables per venue.")
    var top: Int = 5

    @Option(name: .long, help: "table, markdown or csv.")
    var format: ReportFormat = .table

    @OptionGroup var venueOptions: VenueCommandOptions
    var options: FleetOptions { venueOptions.options }

    var reportFormat: ReportFormat { format }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        let operation = SweepOperation(vacuum: vacuum, top: top,
                                       previousSizes: await SweepOperation.previousSizes(in: session.fleet.reportsDirectory))
        return RunPlan(operation: { try await operation.run($0) }, conclude: session.resolved.coverage, strict: strict)
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Render a saved JSON report (report FILE), or merge the shard reports of a split run (report merge).",
        subcommands: [ReportRenderCommand.self, ReportMergeCommand.self], defaultSubcommand: ReportRenderCommand.self)
}

struct ReportRenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render", abstract: "Render a saved JSON report as a table, Markdown or CSV (the default: gwi-fleet report FILE).",
        discussion: "Example: gwi-fleet report --latest backup --format markdown")

    @Argument(help: "A report saved under reports/.")
    var file: String?

    @Option(name: .long, help: "Render the newest report of this command instead (backup, sweep, …).")
    var latest: String?

    @Option(name: .customLong("reports-dir"), help: "Where --latest looks (default: the fleet file's reports.dir, else ./reports).")
    var reportsDirectory: String?

    @Option(name: .long, help: "The fleet file whose reports.dir --latest reads.")
    var fleet: String?

    @Option(name: .long, help: "table, markdown or csv.")
    var format: ReportFormat = .table

    @Option(name: .customLong("log-format"), help: "Lines on stderr when it is not a terminal: logfmt, or json (then every line is a JSON object).")
    var logFormat: LogFormatOption = .logfmt

    func validate() throws {
        if (file == nil) == (latest == nil) { throw ValidationError("give a report FILE, or --latest COMMAND") }
    }

    func run() throws {
        var file = self.file ?? ""
        if let latest {
            // The same fleet file as every other command would use (--fleet, $GWI_FLEET, ./fleet.yaml, /etc/gwi-fleet/fleet.yaml).
            let directory = reportsDirectory ?? (try? FleetPath.resolve(fleet)).flatMap { try? FleetFile.load(path: $0) }?.reportsDirectory ?? "reports"
            guard let newest = RunReport.newest(command: latest, in: directory) else {
                Terminal.error("no \(latest) report in \(directory)")
                throw ExitCode(ExitCodes.venueFailed)
            }
            file = newest
        }
        let report: RunReport
        do {
            report = try RunReport.read(file)
        } catch ReportError.unreadable {
            Terminal.error("cannot read \(file)")
            throw ExitCode(ExitCodes.usage)
        } catch {
            Terminal.error("\(file) is \(error)")
            throw ExitCode(ExitCodes.usage)
        }
        if report.schema < 2 {
            // Schema-1 reports carry every venue field the renderer reads; say what is missing from them.
            Terminal.error("note: \(file) is \(ReportError.otherSchema(report.schema)): no run id, fleet hash or fleet-level problems")
        }
        Terminal.out(ReportRendering.render(report, format: format))
    }
}

struct ReportMergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the shard reports of one split run into one report; fail naming every venue covered zero times or twice.",
        discussion: """
            Checks the reports are one run (same run id, command, venue list and shard count, every index once) and that \
            every venue was covered exactly once. The merged report has the same format as a single-machine run. \
            Examples: gwi-fleet report merge reports/backup-*-shard*.json; gwi-fleet report merge --run-dir /reports
            """)

    @Argument(help: "Shard reports to merge.")
    var files: [String] = []

    @Option(name: .customLong("run-dir"), help: "Merge the newest run's shard reports in this directory.")
    var runDirectory: String?

    @Option(name: .long, help: "Where to save the merged report (default: beside the shard reports).")
    var out: String?

    @Option(name: .long, help: "table, markdown or csv.")
    var format: ReportFormat = .table

    @Flag(name: .long, help: "Print the merged JSON report instead of the table.")
    var json = false

    @Option(name: .customLong("log-format"), help: "Lines on stderr when it is not a terminal: logfmt, or json (then every line is a JSON object).")
    var logFormat: LogFormatOption = .logfmt

    func validate() throws {
        if files.isEmpty == (runDirectory == nil) { throw ValidationError("give the shard report files, or --run-dir DIR") }
    }

    func run() async throws {
        var inputs: [(path: String, report: RunReport)] = []
        if let runDirectory {
            do { inputs = try ReportMerge.newestRun(in: runDirectory) } catch {
                Terminal.error("cannot read \(runDirectory): \(error)")
                throw ExitCode(ExitCodes.usage)
            }
            if inputs.isEmpty {
                Terminal.error("no shard reports in \(runDirectory)")
                throw ExitCode(ExitCodes.venueFailed)
            }
        }
        for file in files {
            do { inputs.append((file, try RunReport.read(file))) } catch ReportError.unreadable {
                Terminal.error("cannot read \(file) as a report")
                throw ExitCode(ExitCodes.usage)
            } catch {
                Terminal.error("\(file) is \(error)")
                throw ExitCode(ExitCodes.usage)
            }
        }
        let result = ReportMerge.merge(inputs)
        guard let merged = result.report else {
            for problem in result.problems { Terminal.error(problem) }
            throw ExitCode(ExitCodes.venueFailed)
        }
        for problem in result.problems { Terminal.error("problem: \(problem)") }
        var path: String?
        do {
            if let out {
                try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: out).deletingLastPathComponent().path,
                                                        withIntermediateDirectories: true)
                try DurableFile.write(Data(merged.jsonText.utf8), to: out)
                path = out
            } else {
                path = try merged.save(in: URL(fileURLWithPath: inputs[0].path).deletingLastPathComponent().path)
            }
        } catch {
            Terminal.error("could not save the merged report: \(error)")
            throw ExitCode(ExitCodes.venueFailed)
        }
        if json {
            Terminal.out(merged.jsonText, terminator: "")
        } else {
            Terminal.out(ReportRendering.render(merged, format: format, savedAt: format == .table ? path : nil))
        }
        throw ExitCode(merged.exitCode)
    }
}

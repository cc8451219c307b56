import ArgumentParser
import FleetEngine
import FleetModel
import Foundation

struct AnalyzeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze", abstract: "ANALYZE every venue (VACUUM (ANALYZE) with --vacuum), under lock and statement timeouts.")

    @Flag(name: .long, help: "Run VACUUM (ANALYZE) instead of ANALYZE.")
    var vacuum = false

    @Option(name: .long, help: "table, markdown or csv.")
    var format: ReportFormat = .table

    @OptionGroup var options: FleetOptions

    func run() async throws {
        let session = try await FleetSession(options: options)
        let operation = AnalyzeOperation(vacuum: vacuum, timeoutOverride: options.timeoutOverride)
        let (report, path) = await session.run(command: "analyze") { try await operation.run($0) }
        try session.finish(report, savedAt: path, format: format)
    }
}

struct SizesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sizes", abstract: "Each venue's database size and largest tables, with fleet-wide totals.")

    @Option(name: .long, help: "How many of the largest tables, per venue and across the fleet.")
    var top: Int = 20

    @Option(name: .long, help: "table, markdown or csv (csv: one row per table, exact bytes).")
    var format: ReportFormat = .table

    @OptionGroup var options: FleetOptions

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1") }
    }

    func run() async throws {
        let session = try await FleetSession(options: options)
        let operation = SizesOperation(top: top)
        let top = self.top
        let (report, path) = await session.run(command: "sizes", conclude: { FleetRun.Conclusion(fields: SizesOperation.fleetTotals($0, top: top)) }) {
            try await operation.run($0)
        }
        try session.finish(report, savedAt: path, format: format)
    }
}

struct CountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "counts", abstract: "Exact row counts per table, with the drift from each venue's latest backup.")

    @Option(name: .long, help: "Only this table (`Order` or `public.Order`); repeatable. Default: every user table.")
    var table: [String] = []

    @Option(name: .long, help: "table, markdown or csv.")
    var format: ReportFormat = .table

    @OptionGroup var options: FleetOptions

    func run() async throws {
        let session = try await FleetSession(options: options, leavingMasterOutOf: "counts")
        let operation = CountsOperation(tables: table)
        let (report, path) = await session.run(command: "counts") { try await operation.run($0) }
        try session.finish(report, savedAt: path, format: format)
    }
}

struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "The weekly maintenance job: analyze, sizes, counts of verify.tables and a health verdict per venue.")

    @Flag(name: .long, help: "VACUUM (ANALYZE) instead of ANALYZE.")
    var vacuum = false

    @Flag(name: .long, help: "Exit 1 when any venue has a warning.")
    var strict = false

    @Option(name: .long, help: "How many of the largest tables per venue.")
    var top: Int = 5

    @Option(name: .long, help: "table, markdown or csv.")
    var format: ReportFormat = .table

    @OptionGroup var options: FleetOptions

    func run() async throws {
        let session = try await FleetSession(options: options)
        let operation = SweepOperation(vacuum: vacuum, top: top, timeoutOverride: options.timeoutOverride,
                                       previousSizes: SweepOperation.previousSizes(in: session.fleet.reportsDirectory))
        let (report, path) = await session.run(command: "sweep", strict: strict, conclude: session.coverage) { try await operation.run($0) }
        try session.finish(report, savedAt: path, format: format)
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Render a saved JSON report as a table, Markdown or CSV.")

    @Argument(help: "A report saved under reports/.")
    var file: String

    @Option(name: .long, help: "table, markdown or csv.")
    var format: ReportFormat = .table

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            Terminal.error("cannot read \(file)")
            throw ExitCode(ExitCodes.usage)
        }
        guard let report = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            Terminal.error("\(file) is not a gwi-fleet report")
            throw ExitCode(ExitCodes.usage)
        }
        do {
            _ = try RunReport(json: report)
        } catch ReportError.otherSchema(let version) where version < RunReport.schemaVersion {
            // Older reports carry every field the renderer reads; say what is missing from them.
            Terminal.error("note: \(file) is \(ReportError.otherSchema(version)): no run id, fleet hash or fleet-level problems")
        } catch {
            Terminal.error("\(file) is \(error)")
            throw ExitCode(ExitCodes.usage)
        }
        Terminal.out(ReportRendering.render(report, format: format))
    }
}

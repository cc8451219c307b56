import ArgumentParser
import FleetEngine
import FleetModel
import Foundation

struct ExportCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a table or a query from every venue as CSV, streamed to disk (one file per venue, or one combined file).",
        discussion: "Example: gwi-fleet export --table MenuItem --out exports/")

    @Option(name: .long, help: "The table to export (`Order` or `public.Order`).")
    var table: String?

    @Option(name: .long, help: "Only these columns, comma-separated (with --table).")
    var columns: String?

    @Option(name: .long, help: "A SQL condition for the rows (with --table).")
    var `where`: String?

    @Option(name: .long, help: "A SELECT to export instead of a table.")
    var query: String?

    @Option(name: .long, help: "The file name for --out with --query (default: query).")
    var name: String?

    @Option(name: .long, help: "One file per venue: DIR/<slug>/<name>.csv.")
    var out: String?

    @Option(name: .long, help: "One CSV for the fleet, with a leading venue column and one header.")
    var combined: String?

    @Flag(name: .long, help: "gzip the output (.gz).")
    var gzip = false

    @Option(name: .long, help: "SET ROLE to this role first (a least-privileged one).")
    var role: String?

    @OptionGroup var venueOptions: VenueCommandOptions
    var options: FleetOptions { venueOptions.options }

    func validate() throws {
        guard (table == nil) != (query == nil) else { throw ValidationError("give exactly one of --table or --query") }
        guard (out == nil) != (combined == nil) else { throw ValidationError("give exactly one of --out DIR or --combined FILE") }
        if query != nil && (columns != nil || `where` != nil) { throw ValidationError("--columns and --where go with --table") }
    }

    static var leavesMasterOut: Bool { true }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        let source: ExportOperation.Source = table.map {
            .table($0, columns: (columns ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
                   filter: `where`)
        } ?? .query(query!)
        let absolute = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.path }
        var combinedFile = combined.map(absolute)
        if gzip, let file = combinedFile, !file.hasSuffix(".gz") { combinedFile = file + ".gz" }
        let destination: ExportOperation.Destination = combinedFile.map { .combined($0) } ?? .directory(absolute(out!))
        let fileName = name ?? table.map { $0.split(separator: ".").last.map(String.init) ?? $0 } ?? "query"
        let operation = ExportOperation(source: source, destination: destination, name: fileName, gzip: gzip, role: role)
        let venues = session.venues
        return RunPlan(operation: { try await operation.run($0) }, conclude: { await operation.conclude($0, venues: venues) })
    }

    func present(_ report: RunReport, savedAt path: String?, session: CommandSession) throws -> Never {
        let totals = report.totals
        if !totals.isEmpty, !options.json {
            if let file = totals.combinedFile {
                Terminal.error("combined file: \(file) (\(ByteCount.human(totals.bytes ?? 0)))", level: .info)
            } else {
                Terminal.error("combined file not written: \(totals.error ?? "")")
            }
        }
        session.finish(report, savedAt: path)
    }
}

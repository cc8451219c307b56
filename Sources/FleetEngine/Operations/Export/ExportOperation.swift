import FleetModel
import FleetBasics
import Foundation
import Synchronization
import PostgresClient

/// `gwi-fleet export` on one venue: `COPY (…) TO STDOUT WITH (FORMAT csv, HEADER)` inside a
/// read-only transaction, streamed to a temporary file as it arrives, then renamed: a failed venue
/// leaves no half file. The bytes are what `psql -c "\copy (…) TO STDOUT WITH CSV HEADER"` writes.
public struct ExportOperation: Sendable {
    /// What to export.
    public enum Source: Sendable, Equatable {
        case table(String, columns: [String], filter: String?)
        case query(String)
    }

    /// Where it goes.
    public enum Destination: Sendable, Equatable {
        /// `<dir>/<slug>/<name>.csv`
        case directory(String)
        /// Parts beside the combined file, joined by `combine` once every venue is done.
        case combined(String)
    }

    public var source: Source
    public var destination: Destination
    /// The file name (without extension) for `--out`: the table's name, or `--name` for a query.
    public var name: String
    public var gzip: Bool
    /// `--role`: `SET ROLE` to this (least-privileged) role inside the read-only transaction.
    public var role: String?
    public var connector: VenueConnector

    public init(source: Source, destination: Destination, name: String, gzip: Bool = false, role: String? = nil,
                connector: VenueConnector = VenueConnector()) {
        self.role = role
        self.source = source
        self.destination = destination
        self.name = name
        self.gzip = gzip
        self.connector = connector
    }

    /// The SELECT being exported.
    var selectSQL: String {
        switch source {
        case .query(let sql):
            return sql
        case .table(let table, let columns, let filter):
            let parts = table.split(separator: ".", maxSplits: 1).map(String.init)
            let qualified = parts.map(SQLQuoting.identifier).joined(separator: ".")
            let list = columns.isEmpty ? "*" : columns.map(SQLQuoting.identifier).joined(separator: ", ")
            return "SELECT \(list) FROM \(qualified)" + (filter.map { " WHERE \($0)" } ?? "")
        }
    }

    /// The COPY statement; for a combined file, a leading `venue` column and no header.
    func copySQL(venue: Venue) -> String {
        switch destination {
        case .directory:
            return "COPY (\(selectSQL)) TO STDOUT WITH (FORMAT csv, HEADER)"
        case .combined:
            return "COPY (SELECT \(SQLQuoting.literal(venue.slug)) AS venue, q.* FROM (\(selectSQL)) q) TO STDOUT WITH (FORMAT csv)"
        }
    }

    /// Where a venue's data lands.
    func path(for venue: Venue) -> String {
        switch destination {
        case .directory(let directory): "\(directory)/\(venue.slug)/\(name).csv" + (gzip ? ".gz" : "")
        case .combined(let file): Self.partPath(combined: file, slug: venue.slug)
        }
    }

    static func partPath(combined file: String, slug: String) -> String {
        let url = URL(fileURLWithPath: file)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(slug).part").path
    }

    public func run(_ venue: Venue) async throws -> ExportResult {
        let target = path(for: venue)
        let directory = URL(fileURLWithPath: target).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let connection = try await connector.connect(venue, .pooled)
        let csvPath = gzip && !isCombined ? target + ".csv-temp" : target
        let file = try DurableFile(finalPath: csvPath)
        defer { file.abandon() }
        let descriptor = file.descriptor
        let bytes: Int
        let columns: [String]
        do {
            try await connection.execute("BEGIN READ ONLY" + (role.map { "; SET LOCAL ROLE \(SQLQuoting.identifier($0))" } ?? ""))
            // The columns this venue's schema gives the export: a combined file needs them to agree.
            columns = try await connection.query("SELECT * FROM (\(selectSQL)) q LIMIT 0").columns
            bytes = try await connection.copyOut(copySQL(venue: venue)) { chunk in
                try DurableFile.write(chunk, to: descriptor)
            }
            try await connection.execute("COMMIT")
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "export", error)
        }
        try Task.checkCancellation()
        try await file.commitOffThePool()
        var written = bytes
        if gzip && !isCombined {
            written = try await Self.compress(csvPath, to: target)
        }
        return ExportResult(file: target, bytes: written, csvBytes: bytes, columns: columns,
                            summary: "\(ByteCount.human(bytes)) CSV" + (isCombined ? " (part of the combined file)" : " → \(target)"))
    }

    var isCombined: Bool { if case .combined = destination { true } else { false } }

    /// The fleet-level part of a combined export: the file, or the problem that fails the run.
    public func conclude(_ outcomes: [VenueOutcome], venues: [Venue]) async -> FleetRun.Conclusion {
        guard isCombined else { return FleetRun.Conclusion() }
        let failure: String
        if let mismatch = Self.columnMismatch(outcomes) {
            // Never a header from one schema over rows of another: no combined file at all.
            if case .combined(let file) = destination { for venue in venues { unlink(Self.partPath(combined: file, slug: venue.slug)) } }
            failure = "combined file not written: " + mismatch
            return FleetRun.Conclusion(totals: FleetTotals(error: failure), problems: [failure])
        }
        do {
            if let (file, bytes) = try await combine(outcomes, venues: venues) {
                return FleetRun.Conclusion(totals: FleetTotals(combinedFile: file, bytes: bytes))
            }
            failure = "no venue succeeded; no combined file written"
        } catch {
            failure = "combined file not written: \(error)"
        }
        return FleetRun.Conclusion(totals: FleetTotals(error: failure), problems: [failure])
    }

    /// Nil when every venue that succeeded exported the same columns, else which venues had which.
    static func columnMismatch(_ outcomes: [VenueOutcome]) -> String? {
        var groups: [(columns: [String], slugs: [String])] = []
        for outcome in outcomes where outcome.status == .ok {
            let columns = outcome.result(as: ExportResult.self)?.columns ?? []
            if let index = groups.firstIndex(where: { $0.columns == columns }) { groups[index].slugs.append(outcome.slug) }
            else { groups.append((columns, [outcome.slug])) }
        }
        guard groups.count > 1 else { return nil }
        return "the venues' columns differ (different schema versions?): " + groups.map { group in
            group.slugs.prefix(10).joined(separator: ", ") + (group.slugs.count > 10 ? " and \(group.slugs.count - 10) more" : "")
                + " have (" + group.columns.joined(separator: ", ") + ")"
        }.joined(separator: "; ")
    }

    /// After every venue: the header once, then the parts of the venues that succeeded, in the
    /// fleet's order, into a temporary file renamed into place. Parts are removed either way.
    public func combine(_ outcomes: [VenueOutcome], venues: [Venue]) async throws -> (String, Int)? {
        guard case .combined(let file) = destination else { return nil }
        let okSlugs = Set(outcomes.filter { $0.status == .ok }.map(\.slug))
        defer { for venue in venues { unlink(Self.partPath(combined: file, slug: venue.slug)) } }
        guard let first = venues.first(where: { okSlugs.contains($0.slug) }) else { return nil }
        // The header from the database itself, so it is quoted exactly as COPY quotes it.
        let connection = try await connector.connect(first, .pooled)
        let header = HeaderCollector()
        do {
            try await connection.execute("BEGIN READ ONLY")
            try await connection.copyOut("COPY (SELECT 'x' AS venue, q.* FROM (\(selectSQL)) q LIMIT 0) TO STDOUT WITH (FORMAT csv, HEADER)") {
                header.append($0)
            }
            try await connection.execute("COMMIT")
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "read the export's header", error)
        }
        let csvPath = gzip ? file + ".csv-temp" : file
        let output = try DurableFile(finalPath: csvPath)
        defer { output.abandon() }
        try output.write(header.data)
        let parts = venues.filter { okSlugs.contains($0.slug) }.map { Self.partPath(combined: file, slug: $0.slug) }
        let descriptor = output.descriptor
        try await BlockingExecutor.shared.run {
            for part in parts { try DurableFile.readChunks(of: part) { try DurableFile.write($0, to: descriptor) } }
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: output.temporaryPath)[.size] as? Int) ?? 0
        try await output.commitOffThePool()
        if gzip { return (file, try await Self.compress(csvPath, to: file)) }
        return (file, size)
    }

    /// `gzip -c` the finished CSV into a durable `.gz`, then removes the CSV. Returns the bytes.
    static func compress(_ csvPath: String, to target: String) async throws -> Int {
        let output = try DurableFile(finalPath: target)
        defer { output.abandon(); unlink(csvPath) }
        let gzip = ChildProcess(try PgTools.findOnPath("gzip", environment: ProcessInfo.processInfo.environment), ["-c", "-n", csvPath])
        let result = try await gzip.run(output: .descriptor(output.descriptor, closeAfterStart: false))
        guard result.succeeded else { throw gzip.failure(result) }
        let size = (try? FileManager.default.attributesOfItem(atPath: output.temporaryPath)[.size] as? Int) ?? 0
        try await output.commitOffThePool()
        return size
    }
}

/// Collects the few bytes of a CSV header from COPY's sink thread.
final class HeaderCollector: Sendable {
    private let storage = Mutex(Data())
    func append(_ bytes: UnsafeRawBufferPointer) { storage.withLock { $0.append(contentsOf: bytes) } }
    var data: Data { storage.withLock { $0 } }
}

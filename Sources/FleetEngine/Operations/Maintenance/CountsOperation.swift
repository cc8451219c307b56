import FleetModel
import Foundation
import PostgresClient

/// `gwi-fleet counts [--table NAME …]`: exact row counts, with the drift from the latest backup.
public struct CountsOperation: Sendable {
    /// Table names (`Order` or `public.Order`); every user table when empty.
    public var tables: [String]
    public var connector: VenueConnector

    public init(tables: [String] = [], connector: VenueConnector = VenueConnector()) {
        self.tables = tables
        self.connector = connector
    }

    public func run(_ venue: Venue) async throws -> CountsResult {
        let connection = try await connector.connect(venue, .pooled)
        let counts = try await Self.count(tables, on: connection)
        let backup = BackupCatalog.latestRestorePoint(of: venue)?.manifest
        return CountsResult(backup: backup?.file, counts: counts.map { CountsResult.Table(table: $0.0, rows: $0.1, backup: backup) })
    }

    /// Exact counts of the named tables (all user tables when none), keyed as in manifests (`TableCounter.key`), in order.
    /// A name that matches no table fails the venue with that name.
    static func count(_ names: [String], on connection: PostgresConnection) async throws -> [(String, Int)] {
        do {
            guard !names.isEmpty else { return try await TableCounter.countAll(on: connection).sorted { $0.key < $1.key } }
            let all = try await TableCounter.userTables(on: connection)
            var chosen: [(String, String)] = []
            var missing: [String] = []
            for name in names {
                let matches = all.filter { TableCounter.key(schema: $0.0, table: $0.1) == name || "\($0.0).\($0.1)" == name || $0.1 == name }
                if matches.isEmpty { missing.append(name) } else { chosen += matches.filter { m in !chosen.contains { $0 == m } } }
            }
            if !missing.isEmpty {
                throw FleetEngineError.noSuchTable(missing)
            }
            let sql = chosen.enumerated().map { index, table in
                "SELECT \(index), count(*) FROM \(SQLQuoting.qualified(schema: table.0, name: table.1))"
            }.joined(separator: " UNION ALL ")
            var result: [(String, Int)] = chosen.map { (TableCounter.key(schema: $0.0, table: $0.1), 0) }
            let counted = try await connection.query(sql)
            for row in counted.rows.indices {
                result[try counted.int(row, 0, "a table index")].1 = try counted.int(row, 1, "a row count")
            }
            return result
        } catch let error as PostgresError {
            throw MaintenanceSession.describe(error, step: "count rows")
        }
    }
}

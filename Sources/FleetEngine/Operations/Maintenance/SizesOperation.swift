import FleetModel
import Foundation
import PostgresClient

/// `gwi-fleet sizes [--top N]`: the database size and its N largest tables.
public struct SizesOperation: Sendable {
    public var top: Int
    public var connector: VenueConnector

    public init(top: Int = 20, connector: VenueConnector = VenueConnector()) {
        self.top = top
        self.connector = connector
    }

    public func run(_ venue: Venue) async throws -> SizesResult {
        let connection = try await connector.connect(venue, .pooled)
        let (size, tables) = try await Self.read(on: connection, top: top)
        return SizesResult(databaseBytes: size, largestTables: tables)
    }

    /// The database size and its `top` largest tables (total, table, indexes, TOAST bytes).
    static func read(on connection: PostgresConnection, top: Int) async throws -> (Int, [SizesResult.Table]) {
        do {
            let size = try await connection.query("SELECT pg_database_size(current_database())").int(0, 0, "the database size")
            let tables = try await connection.query("""
                SELECT n.nspname || '.' || c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid),
                       pg_indexes_size(c.oid), coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                  AND n.nspname NOT LIKE 'pg\\_toast%'
                ORDER BY 2 DESC, 1 LIMIT $1
                """, [String(top)])
            let rows = try tables.rows.indices.map { row in
                SizesResult.Table(table: try tables.value(row, 0, "a table name"), totalBytes: try tables.int(row, 1, "a size"),
                                  tableBytes: try tables.int(row, 2, "a size"), indexBytes: try tables.int(row, 3, "a size"),
                                  toastBytes: try tables.int(row, 4, "a size"))
            }
            return (size, rows)
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "read sizes", error)
        }
    }

    /// Fleet-wide totals and the N largest tables across the fleet.
    public static func fleetTotals(_ outcomes: [VenueOutcome], top: Int) -> FleetTotals {
        var total = 0
        var tables: [SizesResult.FleetTable] = []
        for outcome in outcomes where outcome.status == .ok || outcome.status == .warning {
            guard let result = outcome.result(as: SizesResult.self) else { continue }
            total += result.databaseBytes
            tables += result.largestTables.map { SizesResult.FleetTable(venue: outcome.slug, table: $0) }
        }
        let largest = tables.sorted {
            ($0.table.totalBytes, $1.venue, $1.table.table) > ($1.table.totalBytes, $0.venue, $0.table.table)
        }.prefix(top)
        return FleetTotals(databaseBytes: total, largestTables: Array(largest))
    }
}

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

    public func run(_ venue: Venue) async throws -> VenueFigures {
        let connection = try await connector.connect(venue, .pooled)
        let (size, tables) = try await Self.read(on: connection, top: top)
        let largest = tables.first.map { " (largest \($0["table"]?.stringValue ?? ""): \(ByteCount.human($0["total_bytes"]?.intValue ?? 0)))" } ?? ""
        return VenueFigures([("database_bytes", .int(size)), ("largest_tables", .array(tables))],
                            summary: "\(ByteCount.human(size))\(largest)")
    }

    /// The database size and its `top` largest tables (total, table, indexes, TOAST bytes).
    static func read(on connection: PostgresConnection, top: Int) async throws -> (Int, [JSONValue]) {
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
                JSONValue.object([("table", .string(try tables.value(row, 0, "a table name"))),
                                  ("total_bytes", .int(try tables.int(row, 1, "a size"))), ("table_bytes", .int(try tables.int(row, 2, "a size"))),
                                  ("index_bytes", .int(try tables.int(row, 3, "a size"))), ("toast_bytes", .int(try tables.int(row, 4, "a size")))])
            }
            return (size, rows)
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "read sizes", error)
        }
    }

    /// Fleet-wide totals and the N largest tables across the fleet.
    public static func fleetTotals(_ outcomes: [VenueOutcome], top: Int) -> [(String, JSONValue)] {
        var total = 0
        var tables: [(String, String, Int, JSONValue)] = []
        for outcome in outcomes where outcome.status == .ok || outcome.status == .warning {
            total += outcome.figures["database_bytes"]?.intValue ?? 0
            guard case .array(let rows)? = outcome.figures["largest_tables"] else { continue }
            for row in rows {
                tables.append((outcome.slug, row["table"]?.stringValue ?? "", row["total_bytes"]?.intValue ?? 0, row))
            }
        }
        let largest = tables.sorted { ($0.2, $1.0, $1.1) > ($1.2, $0.0, $0.1) }.prefix(top).map { venue, _, _, row -> JSONValue in
            guard case .object(let pairs) = row else { return row }
            return .object([("venue", .string(venue))] + pairs)
        }
        return [("database_bytes", .int(total)), ("largest_tables", .array(Array(largest)))]
    }
}

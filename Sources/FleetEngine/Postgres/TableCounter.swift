import Foundation
import PostgresClient

/// Exact row counts of every user table, in one round trip.
enum TableCounter {
    /// Ordinary and partitioned tables outside the system schemas, minus extension-owned ones.
    static let userTablesSQL = """
        SELECT n.nspname, c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
          AND n.nspname NOT LIKE 'pg\\_temp%'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        ORDER BY 1, 2
        """

    /// `{"public.Order": 4000, …}`
    static func countAll(on connection: PostgresConnection) async throws -> [String: Int] {
        let tables = try await userTables(on: connection)
        guard !tables.isEmpty else { return [:] }
        let sql = tables.enumerated().map { index, table in
            "SELECT \(index), count(*) FROM \(SQLQuoting.qualified(schema: table.0, name: table.1))"
        }.joined(separator: " UNION ALL ")
        var counts: [String: Int] = [:]
        let counted = try await connection.query(sql)
        for row in counted.rows.indices {
            let index = try counted.int(row, 0, "a table index")
            guard tables.indices.contains(index) else { throw PostgresError.unexpectedResult("table index \(index) out of range") }
            counts["\(tables[index].0).\(tables[index].1)"] = try counted.int(row, 1, "a row count")
        }
        return counts
    }

    /// `(schema, table)` of every user table.
    static func userTables(on connection: PostgresConnection) async throws -> [(String, String)] {
        let result = try await connection.query(userTablesSQL)
        return try result.rows.indices.map { (try result.value($0, 0, "a schema name"), try result.value($0, 1, "a table name")) }
    }
}

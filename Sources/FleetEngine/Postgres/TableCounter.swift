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

    /// `{"public.Order": 4000, …}`, keyed by `key(schema:table:)`.
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
            counts[key(schema: tables[index].0, table: tables[index].1)] = try counted.int(row, 1, "a row count")
        }
        return counts
    }

    /// `(schema, table)` of every user table.
    static func userTables(on connection: PostgresConnection) async throws -> [(String, String)] {
        let result = try await connection.query(userTablesSQL)
        return try result.rows.indices.map { (try result.value($0, 0, "a schema name"), try result.value($0, 1, "a table name")) }
    }

    /// A table's key in row counts (manifests, verification records, reports): `schema.table`,
    /// each part double-quoted (a `"` doubled) only when it holds a `.` or starts with a `"`, so a
    /// part is either quoted or ends at the first dot. `"s.x".t` and `s."x.t"` get two keys, and
    /// every name without a dot (`public.Order`, `public.Order "special"`) keeps the key that
    /// older manifests, written as plain `schema.table`, already have.
    static func key(schema: String, table: String) -> String { keyPart(schema) + "." + keyPart(table) }

    private static func keyPart(_ name: String) -> String {
        name.contains(".") || name.hasPrefix("\"") ? "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : name
    }

    /// `(schema, table)` of a key written by `key(schema:table:)`; nil for anything else (an older
    /// manifest's plain `schema.table` of a name holding a dot, which can be ambiguous).
    static func parts(of key: String) -> (schema: String, table: String)? {
        var rest = Substring(key)
        func part() -> String? {
            if rest.first == "\"" {
                var name = ""
                rest = rest.dropFirst()
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if character == "\"" {
                        guard rest.first == "\"" else { return name.isEmpty ? nil : name }
                        rest = rest.dropFirst()
                    }
                    name.append(character)
                }
                return nil
            }
            let name = rest.prefix { $0 != "." }
            rest = rest.dropFirst(name.count)
            return name.isEmpty ? nil : String(name)
        }
        guard let schema = part(), rest.first == "." else { return nil }
        rest = rest.dropFirst()
        guard let table = part(), rest.isEmpty, key == Self.key(schema: schema, table: table) else { return nil }
        return (schema, table)
    }

    /// How manifests written before quoted keys named a table: `schema.table` as it is.
    static func legacyKey(of key: String) -> String {
        parts(of: key).map { "\($0.schema).\($0.table)" } ?? key
    }
}

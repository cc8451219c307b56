import Foundation
import PostgresClient

/// What a database is besides its contents: owner, encoding, collation, tablespace, connection
/// limit, settings (`ALTER DATABASE … SET`, `ALTER ROLE … IN DATABASE … SET`), comment and grants.
/// A database rebuilt from a backup (safe replace, exec rollback, `restore --as`) gets these from
/// the one it replaces, so the app's role still owns it and can still migrate it.
struct DatabaseProperties: Sendable, Equatable {
    /// One `aclexplode` row; `grantee` nil is PUBLIC.
    struct Grant: Sendable, Equatable { var grantee: String?; var privilege: String; var grantable: Bool }
    /// Settings for everyone (`role` nil) or one role in this database.
    struct Setting: Sendable, Equatable { var role: String?; var assignments: [String] }

    var owner: String
    var encoding: String
    var collate: String
    var ctype: String
    /// PostgreSQL 15+: `i` for ICU, with its locale.
    var icuLocale: String?
    var tablespace: String
    var connectionLimit: Int
    var comment: String?
    /// Nil: the default privileges (no explicit ACL).
    var grants: [Grant]?
    var settings: [Setting]

    /// Reads the properties of `name`, or nil when there is no such database.
    static func read(_ name: String, on connection: PostgresConnection) async throws -> DatabaseProperties? {
        let icu = connection.serverVersion >= 150000
            ? "CASE WHEN d.datlocprovider = 'i' THEN d.daticulocale END" : "NULL::text"
        let facts = try await connection.query("""
            SELECT pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, \(icu),
                   t.spcname, d.datconnlimit, shobj_description(d.oid, 'pg_database'), d.datacl IS NULL
            FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = $1
            """, [name])
        guard !facts.rows.isEmpty else { return nil }
        var properties = DatabaseProperties(
            owner: try facts.value(0, 0, "the owner"), encoding: try facts.value(0, 1, "the encoding"),
            collate: try facts.value(0, 2, "the collation"), ctype: try facts.value(0, 3, "the ctype"),
            icuLocale: facts.rows[0][4], tablespace: try facts.value(0, 5, "the tablespace"),
            connectionLimit: try facts.int(0, 6, "the connection limit"), comment: facts.rows[0][7], grants: nil, settings: [])
        if facts.rows[0][8] == "f" {
            let acl = try await connection.query("""
                SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, a.privilege_type, a.is_grantable
                FROM pg_database d, aclexplode(d.datacl) WITH ORDINALITY a WHERE d.datname = $1 ORDER BY a.ordinality
                """, [name])
            properties.grants = try acl.rows.indices.map { row in
                Grant(grantee: acl.rows[row][0], privilege: try acl.value(row, 1, "a privilege"), grantable: acl.rows[row][2] == "t")
            }
        }
        let settings = try await connection.query("""
            SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END, array_to_json(s.setconfig)::text
            FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = $1 ORDER BY 1 NULLS FIRST
            """, [name])
        properties.settings = settings.rows.compactMap { row in
            guard let text = row[1], let list = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else { return nil }
            return Setting(role: row[0], assignments: list)
        }
        return properties
    }

    /// `CREATE DATABASE` for a copy with these properties (from template0, as pg_dump's --create does).
    func createStatement(_ name: String) -> String {
        var sql = "CREATE DATABASE \(SQLQuoting.identifier(name)) WITH OWNER = \(SQLQuoting.identifier(owner)) TEMPLATE = template0"
            + " ENCODING = \(SQLQuoting.literal(encoding)) LC_COLLATE = \(SQLQuoting.literal(collate)) LC_CTYPE = \(SQLQuoting.literal(ctype))"
        if let icuLocale { sql += " LOCALE_PROVIDER = icu ICU_LOCALE = \(SQLQuoting.literal(icuLocale))" }
        if tablespace != "pg_default" { sql += " TABLESPACE = \(SQLQuoting.identifier(tablespace))" }
        return sql + " CONNECTION LIMIT = \(connectionLimit)"
    }

    /// What the copy needs once its contents are in: settings, comment, grants. Applied after the
    /// restore, so a setting such as `default_transaction_read_only` cannot get in its way.
    func finishingStatements(_ name: String) -> [String] {
        let database = SQLQuoting.identifier(name)
        var statements: [String] = []
        for setting in settings {
            let target = setting.role.map { "ALTER ROLE \(SQLQuoting.identifier($0)) IN DATABASE \(database)" } ?? "ALTER DATABASE \(database)"
            for assignment in setting.assignments {
                guard let equals = assignment.firstIndex(of: "=") else { continue }
                let key = String(assignment[..<equals]), value = String(assignment[assignment.index(after: equals)...])
                statements.append("\(target) SET \(SQLQuoting.identifier(key)) TO \(Self.settingValue(key: key, value: value))")
            }
        }
        if let comment { statements.append("COMMENT ON DATABASE \(database) IS \(SQLQuoting.literal(comment))") }
        if let grants {
            statements.append("REVOKE ALL ON DATABASE \(database) FROM PUBLIC")
            statements.append("REVOKE ALL ON DATABASE \(database) FROM \(SQLQuoting.identifier(owner))")
            for grant in grants {
                let grantee = grant.grantee.map(SQLQuoting.identifier) ?? "PUBLIC"
                statements.append("GRANT \(grant.privilege) ON DATABASE \(database) TO \(grantee)" + (grant.grantable ? " WITH GRANT OPTION" : ""))
            }
        }
        return statements
    }

    /// A setting's value as SQL: list settings (search_path …) element by element, others as one literal.
    static func settingValue(key: String, value: String) -> String {
        let lists: Set<String> = ["search_path", "temp_tablespaces", "session_preload_libraries", "local_preload_libraries",
                                  "shared_preload_libraries"]
        guard lists.contains(key.lowercased()) else { return SQLQuoting.literal(value) }
        return value.split(separator: ",").map { item in
            var element = item.trimmingCharacters(in: .whitespaces)
            if element.hasPrefix("\"") && element.hasSuffix("\"") && element.count >= 2 {
                element = String(element.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
            }
            return SQLQuoting.literal(element)
        }.joined(separator: ", ")
    }
}

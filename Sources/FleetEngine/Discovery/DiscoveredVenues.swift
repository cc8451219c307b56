import FleetModel
import Foundation
import PostgresClient

/// Reads the venues a fleet file's `discover:` points at: the product's registry table and/or
/// every matching database on a server. Read-only, under the fleet's timeout.
public struct DiscoveredVenues: Sendable {
    public var settings: DiscoverySettings
    public var environment: [String: String]
    public var timeout: Duration

    public init(settings: DiscoverySettings, environment: [String: String] = ProcessInfo.processInfo.environment,
                timeout: Duration) {
        self.settings = settings
        self.environment = environment
        self.timeout = timeout
    }

    /// What discovery read: the entries, and the rows that are no venue (a NULL slug), each a
    /// problem of its own row.
    public struct Found: Sendable {
        public var entries: [VenueEntry] = []
        public var problems: [String] = []
    }

    /// Every entry found, registry first; a slug found by both sources is kept once (registry).
    public func read() async throws -> Found {
        try await withDeadline(timeout) {
            var found = Found()
            if let registry = settings.registry { found = try await readRegistry(registry) }
            if let databases = settings.databases {
                let known = Set(found.entries.map(\.slug))
                found.entries += try await readServer(databases).filter { !known.contains($0.slug) }
            }
            return found
        }
    }

    func connect(_ url: String, passwordEnv: String?, key: String) async throws -> PostgresConnection {
        var info: ConnectionInfo
        do { info = try ConnectionInfo(parsing: url) } catch { throw FleetEngineError.invalidURL(key: key, error) }
        if let passwordEnv, let password = environment[passwordEnv] { info.password = password }
        do {
            let connection = try await PostgresConnection.connect(info)
            let statementTimeout = min(timeout.milliseconds, Int(Int32.max))
            try await connection.execute("SET statement_timeout = \(statementTimeout); BEGIN READ ONLY")
            return connection
        } catch let error as PostgresError {
            throw FleetEngineError.connection(step: "\(key): connect to \(info.endpoint)", error)
        }
    }

    /// Rows of the registry query: `slug` (required), `database`, `enabled`, `url`, `direct_url`,
    /// `tags` (text[] or comma-separated), `kind`; other columns are ignored.
    func readRegistry(_ registry: DiscoverySettings.Registry) async throws -> Found {
        let connection = try await connect(registry.url, passwordEnv: registry.passwordEnv, key: "discover.registry.url")
        let result: QueryResult
        do { result = try await connection.query(registry.query) } catch let error as PostgresError {
            throw FleetEngineError.database(step: "discover.registry.query", error)
        }
        guard let slugColumn = result.columns.firstIndex(of: "slug") else {
            throw FleetEngineError.refused("discover.registry.query returns no `slug` column (columns: \(result.columns.joined(separator: ", ")))")
        }
        let column = { (name: String) in result.columns.firstIndex(of: name) }
        var found = Found()
        for (number, row) in result.rows.enumerated() {
            guard let slug = row[slugColumn] else {
                let database = column("database").flatMap { row[$0] }.map { " (database \($0))" } ?? ""
                found.problems.append("registry row \(number + 1)\(database) left out: its slug is NULL")
                continue
            }
            var entry = VenueEntry(slug: slug, origin: "registry")
            if let index = column("database") { entry.database = row[index] }
            if let index = column("enabled"), let value = row[index] { entry.enabled = ["t", "true", "1", "yes", "on"].contains(value.lowercased()) }
            if let index = column("url"), let value = row[index] { entry.settings.url = value; entry.settings.urlWritten = true }
            if let index = column("direct_url"), let value = row[index] { entry.settings.directURL = value }
            if let index = column("tags"), let value = row[index] { entry.tags = Self.textArray(value) }
            if let index = column("kind"), let value = row[index] { entry.kind = VenueKind(rawValue: value) }
            found.entries.append(entry)
        }
        return found
    }

    /// Databases matching the patterns; the slug is the name without `gwi_pos_`, `_` as `-`.
    func readServer(_ databases: DiscoverySettings.ServerDatabases) async throws -> [VenueEntry] {
        let connection = try await connect(databases.url, passwordEnv: databases.passwordEnv, key: "discover.databases.url")
        let result: QueryResult
        do {
            result = try await connection.query("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname")
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "discover.databases: list databases", error)
        }
        let base = ConnectionInfo.redacting(databases.url)
        return result.rows.compactMap { $0.first ?? nil }.filter {
            LikePattern.any(databases.include, match: $0) && !LikePattern.any(databases.exclude, match: $0)
        }.map { name in
            var stem = Substring(name)
            if stem.hasPrefix("gwi_pos_") { stem = stem.dropFirst("gwi_pos_".count) }
            var entry = VenueEntry(slug: stem.replacingOccurrences(of: "_", with: "-"), database: name, origin: "server databases (\(base))")
            // The venue's own URL stays the fleet's `url` unless that is missing: then the server's.
            entry.settings.directURL = nil
            return entry
        }
    }

    /// PostgreSQL's text form of a text[] (`{a,b,"c d"}`), or a plain comma-separated list.
    static func textArray(_ text: String) -> [String] {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        if body.hasPrefix("{") && body.hasSuffix("}") { body = body.dropFirst().dropLast() }
        var items: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in body {
            if escaped { current.append(character); escaped = false; continue }
            switch character {
            case "\\" where quoted: escaped = true
            case "\"": quoted.toggle()
            case "," where !quoted: items.append(current); current = ""
            default: current.append(character)
            }
        }
        items.append(current)
        return items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && $0 != "NULL" }
    }
}

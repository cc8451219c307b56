import FleetModel
import Foundation
import PostgresClient

/// Session settings for maintenance work: a venue holding a long lock fails alone, with a clear
/// message, well before the runner's own timeout.
enum MaintenanceSession {
    /// lock_timeout: half the venue timeout, at most a minute; statement_timeout: 90% of it.
    static func limits(for timeout: Duration) -> (lock: Int, statement: Int) {
        let milliseconds = timeout.milliseconds
        return (max(1, min(milliseconds / 2, 60_000)), max(1, milliseconds * 9 / 10))
    }

    static func open(_ venue: Venue, connector: VenueConnector, timeout: Duration) async throws -> PostgresConnection {
        let connection = try await connector.connect(venue, .direct)
        let (lock, statement) = limits(for: timeout)
        do {
            try await connection.execute("SET lock_timeout = \(lock); SET statement_timeout = \(statement)")
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "set timeouts", error)
        }
        return connection
    }

    /// Turns a lock or statement timeout into a message that says what happened and what to do.
    static func describe(_ error: PostgresError, step: String) -> FleetEngineError {
        switch error.sqlState {
        case "55P03":
            .refused("\(step): lock timeout: another session holds a conflicting lock (see pg_locks / pg_stat_activity); nothing was changed")
        case "57014":
            .refused("\(step): statement timeout: the statement ran longer than this venue's timeout allows")
        default:
            .database(step: step, error)
        }
    }
}

/// One row of `pg_stat_user_tables`, as `analyze` and `sweep` report it.
struct TableStats: Sendable {
    var table: String
    var live: Int
    var dead: Int
    var lastVacuum: String?
    var lastAnalyze: String?

    var deadShare: Double { live + dead == 0 ? 0 : Double(dead) / Double(live + dead) }

    static let sql = """
        SELECT schemaname || '.' || relname, n_live_tup, n_dead_tup,
               greatest(last_vacuum, last_autovacuum), greatest(last_analyze, last_autoanalyze)
        FROM pg_stat_user_tables ORDER BY 1
        """

    static func read(on connection: PostgresConnection) async throws -> [TableStats] {
        try await connection.query(sql).rows.map { row in
            TableStats(table: row[0] ?? "?", live: row[1].flatMap { Int($0) } ?? 0, dead: row[2].flatMap { Int($0) } ?? 0,
                       lastVacuum: row[3], lastAnalyze: row[4])
        }
    }

    /// Tables with at least 1,000 dead tuples making up 10% or more of the table.
    static func highDead(_ stats: [TableStats]) -> [TableStats] {
        stats.filter { $0.dead >= 1000 && $0.deadShare >= 0.10 }
    }

    var json: JSONValue {
        .object([("table", .string(table)), ("live_tuples", .int(live)), ("dead_tuples", .int(dead)),
                 ("dead_share", .double((deadShare * 1000).rounded() / 1000))])
    }
}

/// `gwi-fleet analyze [--vacuum]`: ANALYZE or VACUUM (ANALYZE) on one venue.
public struct AnalyzeOperation: Sendable {
    public var vacuum: Bool
    public var connector: VenueConnector
    public var timeoutOverride: Duration?

    public init(vacuum: Bool = false, connector: VenueConnector = VenueConnector(), timeoutOverride: Duration? = nil) {
        self.vacuum = vacuum
        self.connector = connector
        self.timeoutOverride = timeoutOverride
    }

    public func run(_ venue: Venue) async throws -> VenueFigures {
        let connection = try await MaintenanceSession.open(venue, connector: connector, timeout: timeoutOverride ?? venue.timeout)
        let (statement, before, milliseconds) = try await Self.analyze(on: connection, vacuum: vacuum)
        let high = TableStats.highDead(before)
        var summary = "\(statement) of \(before.count) tables in \(String(format: "%.1f", Double(milliseconds) / 1000))s"
        if !high.isEmpty { summary += "; high dead tuples before: " + high.map { "\($0.table) \(Int($0.deadShare * 100))%" }.joined(separator: ", ") }
        return VenueFigures([
            ("statement", .string(statement)),
            ("tables", .int(before.count)),
            ("statement_ms", .int(milliseconds)),
            ("high_dead_tables_before", .array(high.map(\.json))),
        ], summary: summary)
    }

    /// Runs ANALYZE or VACUUM (ANALYZE); returns the statement, the table statistics from before, and its milliseconds.
    static func analyze(on connection: PostgresConnection, vacuum: Bool) async throws -> (String, [TableStats], Int) {
        let statement = vacuum ? "VACUUM (ANALYZE)" : "ANALYZE"
        let before: [TableStats]
        do {
            before = try await TableStats.read(on: connection)
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "read pg_stat_user_tables", error)
        }
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try await connection.execute(statement)
        } catch let error as PostgresError {
            throw MaintenanceSession.describe(error, step: statement)
        }
        let elapsed = clock.now - start
        return (statement, before, elapsed.milliseconds)
    }
}

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

/// `gwi-fleet counts [--table NAME …]`: exact row counts, with the drift from the latest backup.
public struct CountsOperation: Sendable {
    /// Table names (`Order` or `public.Order`); every user table when empty.
    public var tables: [String]
    public var connector: VenueConnector

    public init(tables: [String] = [], connector: VenueConnector = VenueConnector()) {
        self.tables = tables
        self.connector = connector
    }

    public func run(_ venue: Venue) async throws -> VenueFigures {
        let connection = try await connector.connect(venue, .pooled)
        let counts = try await Self.count(tables, on: connection)
        let backup = BackupCatalog.latestComplete(of: venue)?.manifest
        let rows = counts.map { Self.row(table: $0.0, rows: $0.1, backup: backup) }
        let since = backup.map { " (drift since backup \($0.file))" } ?? " (no backup to compare)"
        let total = counts.map(\.1).reduce(0, +)
        return VenueFigures([
            ("backup", backup.map { .string($0.file) } ?? .null),
            ("counts", .array(rows)),
        ], summary: "\(counts.count) tables, \(total) rows" + since)
    }

    /// `{table, rows, backup_rows, drift}`: drift is rows now minus rows in the backup.
    static func row(table: String, rows: Int, backup: BackupManifest?) -> JSONValue {
        let before = backup?.rowCounts[table]
        return .object([("table", .string(table)), ("rows", .int(rows)),
                        ("backup_rows", before.map(JSONValue.int) ?? .null),
                        ("drift", before.map { .int(rows - $0) } ?? .null)])
    }

    /// Exact counts of the named tables (all user tables when none), keyed `schema.table`, in order.
    /// A name that matches no table fails the venue with that name.
    static func count(_ names: [String], on connection: PostgresConnection) async throws -> [(String, Int)] {
        do {
            guard !names.isEmpty else { return try await TableCounter.countAll(on: connection).sorted { $0.key < $1.key } }
            let all = try await TableCounter.userTables(on: connection)
            var chosen: [(String, String)] = []
            var missing: [String] = []
            for name in names {
                let matches = all.filter { "\($0.0).\($0.1)" == name || $0.1 == name }
                if matches.isEmpty { missing.append(name) } else { chosen += matches.filter { m in !chosen.contains { $0 == m } } }
            }
            if !missing.isEmpty {
                throw FleetEngineError.noSuchTable(missing)
            }
            let sql = chosen.enumerated().map { index, table in
                "SELECT \(index), count(*) FROM \(SQLQuoting.qualified(schema: table.0, name: table.1))"
            }.joined(separator: " UNION ALL ")
            var result: [(String, Int)] = chosen.map { ("\($0.0).\($0.1)", 0) }
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

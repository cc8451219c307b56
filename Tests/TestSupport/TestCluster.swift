import Foundation
import Synchronization

/// A throwaway PostgreSQL server for the tests: its own data directory, socket directory and
/// loopback port, started once per test process (as the `postgres` user when run as root) and
/// stopped when the process exits.
public final class TestCluster: Sendable {
    /// The cluster every test in this process shares.
    public static let shared: TestCluster = {
        do { return try TestCluster() } catch { fatalError("cannot start the test PostgreSQL: \(error)") }
    }()

    /// A second cluster that holds only what its tests create: for coverage, which looks at
    /// every database on a server (the shared cluster holds every other test's databases).
    public static let isolated: TestCluster = {
        do { return try TestCluster() } catch { fatalError("cannot start the isolated test PostgreSQL: \(error)") }
    }()

    /// A small server for lock-table tests: `max_locks_per_transaction=10` and `max_connections=20`,
    /// so its lock table holds 10 × (20 + 22 background processes) = 420 locks.
    public static let lockLimited: TestCluster = {
        do { return try TestCluster(settings: "-c max_locks_per_transaction=10 -c max_connections=20") } catch {
            fatalError("cannot start the lock-limited test PostgreSQL: \(error)")
        }
    }()

    public let port: Int
    public let directory: String
    public let binDirectory: String
    /// A role with a password that may only log in over TCP with SCRAM, for redaction tests.
    public let passwordRole = "gwi_secret_user"
    public let password = "Pa55-w0rd-never-shown"

    /// `settings`: more `-c name=value` options for the server (the last of a name wins).
    private init(settings: String = "") throws {
        binDirectory = try Self.findBinDirectory()
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("gwi-fleet-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o755)
        if getuid() == 0 { try Shell.run("/bin/chown", ["postgres:postgres", directory]) }
        let data = directory + "/data"
        try Self.asPostgres(binDirectory + "/initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                                                      "--locale=C", "--no-sync"])
        let hba = """
            local all all trust
            host all postgres 127.0.0.1/32 trust
            host all all 127.0.0.1/32 scram-sha-256

            """
        try Self.asPostgres("/bin/sh", ["-c", "cat > '\(data)/pg_hba.conf' <<'HBA'\n\(hba)HBA"])
        var started: Int?
        for _ in 0..<8 {
            let candidate = FreePort.pick()
            let options = "-p \(candidate) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off "
                + "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB " + settings
            do {
                try Self.asPostgres(binDirectory + "/pg_ctl", ["-D", data, "-l", directory + "/server.log", "-w",
                                                               "-t", "60", "-o", options, "start"])
                started = candidate
                break
            } catch {
                continue
            }
        }
        guard let started else { throw Shell.Failure(message: "pg_ctl could not start a server on any port") }
        port = started
        Self.stopAtExit.withLock { clusters in
            if clusters.isEmpty {
                atexit {
                    for (pgCtl, data, directory) in TestCluster.stopAtExit.withLock({ $0 }) {
                        _ = try? TestCluster.asPostgres(pgCtl, ["-D", data, "-m", "immediate", "stop"])
                        try? FileManager.default.removeItem(atPath: directory)
                    }
                }
            }
            clusters.append((binDirectory + "/pg_ctl", data, directory))
        }
        try Shell.run(binDirectory + "/psql", psqlArguments(database: "postgres", variables: [:])
                      + ["-c", "CREATE ROLE \(passwordRole) LOGIN SUPERUSER PASSWORD '\(password)'"])
    }

    private static let stopAtExit = Mutex<[(String, String, String)]>([])

    /// `postgresql://postgres@127.0.0.1:PORT/DATABASE`
    public func url(database: String) -> String {
        "postgresql://postgres@127.0.0.1:\(port)/\(database)"
    }

    /// A URL template for fleet files: `{database}` left for gwi-fleet to fill in.
    public var urlTemplate: String { "postgresql://postgres@127.0.0.1:\(port)/{database}" }

    /// Runs SQL with psql over the private socket; throws with psql's message on error. psql runs
    /// on a thread of its own, so waiting for it never holds the cooperative pool other tests need.
    @discardableResult
    public func psql(database: String, sql: String, variables: [String: String] = [:]) async throws -> String {
        try await Shell.runInBackground(binDirectory + "/psql", psqlArguments(database: database, variables: variables) + ["-c", sql])
    }

    /// Runs a SQL file with psql.
    @discardableResult
    public func psql(database: String, file: String, variables: [String: String] = [:]) async throws -> String {
        try await Shell.runInBackground(binDirectory + "/psql", psqlArguments(database: database, variables: variables) + ["-f", file])
    }

    /// Creates a fresh database (dropping any old one of that name).
    public func createDatabase(_ name: String) async throws {
        try await psql(database: "postgres", sql: "DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")
        try await psql(database: "postgres", sql: "CREATE DATABASE \"\(name)\"")
    }

    /// Creates a venue database with the sandbox's point-of-sale schema and data.
    public func createVenue(database: String, scale: Int = 1) async throws {
        try await createDatabase(database)
        try await psql(database: database, file: Repository.root + "/sandbox/seed.sql", variables: ["scale": String(scale)])
    }

    /// Exact row counts of every user table, keyed `schema.table`, read with psql.
    public func rowCounts(database: String) async throws -> [String: Int] {
        let tables = try await psql(database: database, sql: """
            SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema')
              AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1
            """).split(separator: "\n").map(String.init)
        var counts: [String: Int] = [:]
        for table in tables {
            let parts = table.split(separator: ".", maxSplits: 1).map(String.init)
            let quoted = parts.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: ".")
            let count = try await psql(database: database, sql: "SELECT count(*) FROM \(quoted)")
            counts[table] = Int(count.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return counts
    }

    private func psqlArguments(database: String, variables: [String: String]) -> [String] {
        ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", directory, "-p", String(port), "-U", "postgres",
         "-d", database] + variables.flatMap { ["-v", "\($0.key)=\($0.value)"] }
    }

    private static func asPostgres(_ executable: String, _ arguments: [String]) throws {
        if getuid() == 0 {
            try Shell.run("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments)
        } else {
            try Shell.run(executable, arguments)
        }
    }

    private static func findBinDirectory() throws -> String {
        if let configured = ProcessInfo.processInfo.environment["GWI_PG_BINDIR"] { return configured }
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        if let newest = versions.compactMap(Int.init).max(),
           FileManager.default.isExecutableFile(atPath: "\(root)/\(newest)/bin/initdb") {
            return "\(root)/\(newest)/bin"
        }
        throw Shell.Failure(message: "no PostgreSQL server binaries under \(root); run scripts/install-deps")
    }
}

/// Where the repository is, found from this file's path.
public enum Repository {
    public static let root: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()
}

import Foundation
import PostgresClient
import Synchronization

/// A throwaway PostgreSQL server whose WAL pgBackRest archives, as a fleet server's would: its own
/// data directory, socket directory, loopback port, pgbackrest.conf and repository, all inside one
/// temporary directory (nothing under /var or /etc). Its databases exist and one full backup is
/// taken before it is handed out. Run as the `postgres` user when the tests run as root.
public final class ArchivedCluster: Sendable {
    /// The cluster every test in this process shares, with `venueDatabases` in its full backup.
    public static let shared: ArchivedCluster = {
        do { return try ArchivedCluster(databases: venueDatabases) } catch { fatalError("cannot start the archived test PostgreSQL: \(error)") }
    }()

    /// The shared cluster's venue databases, each with an empty `orders (id int PRIMARY KEY, note text)`.
    public static let venueDatabases = ["pitr_a", "pitr_b", "pitr_c", "pitr_d", "pitr_busy", "neon_a", "neon_b", "neon_v"]

    /// The `postgres` role's password: the cluster trusts every local connection, but a recovered
    /// copy that asks for passwords gets this one.
    public static let superuserPassword = "archived-\(UUID().uuidString.prefix(8))"

    public let directory: String
    public let port: Int
    public let binDirectory: String
    public let stanza: String
    public let configPath: String
    public var dataDirectory: String { directory + "/data" }
    public var repositoryPath: String { directory + "/repo" }
    /// The full backup taken at start-up, and the moments just before and after `pgbackrest backup` ran.
    public let fullBackupLabel: String
    public let fullBackupStartedAround: Date
    public let fullBackupFinishedAround: Date

    /// `databases` are created (with `schema` in each) before the full backup.
    public init(databases: [String],
                schema: String = "CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL)") throws {
        let binDirectory = try Self.findBinDirectory()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("gwi-archived-\(getpid())-\(String(format: "%08x", UInt32.random(in: 0...UInt32.max)))").path
        let configPath = directory + "/pgbackrest.conf"
        let stanza = "venues"
        (self.binDirectory, self.directory, self.configPath) = (binDirectory, directory, configPath)
        for path in [directory, directory + "/repo", directory + "/log", directory + "/lock", directory + "/spool"] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            chmod(path, 0o755)
        }
        if getuid() == 0 { try Shell.run("/bin/chown", ["-R", "postgres:postgres", directory]) }
        let data = directory + "/data"
        try Self.asPostgres(binDirectory + "/initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
        // The settings live in the data directory's postgresql.conf, as on a fleet server that keeps
        // its configuration there: a restored copy starts with them and must override them.
        try Self.append(to: data + "/postgresql.conf", """

            listen_addresses = '127.0.0.1'
            unix_socket_directories = '\(directory)'
            wal_level = replica
            archive_mode = on
            archive_command = 'pgbackrest --config=\(configPath) --stanza=\(stanza) archive-push %p'
            timezone = 'UTC'
            track_commit_timestamp = on
            fsync = off
            shared_buffers = 32MB
            max_connections = 50
            # No commits of its own between a test's: the last commit before a target is the test's.
            autovacuum = off

            """)
        var started: Int?
        for _ in 0..<8 {
            let candidate = Int.random(in: 20_000...60_000)
            // pgBackRest must know the port before the server archives its first segment.
            try Self.writeConfig(configPath, directory: directory, stanza: stanza, port: candidate)
            try Self.append(to: data + "/postgresql.conf", "port = \(candidate)\n")
            do {
                try Self.asPostgres(binDirectory + "/pg_ctl", ["-D", data, "-l", directory + "/server.log", "-w", "-t", "60", "start"])
                started = candidate
                break
            } catch {
                continue
            }
        }
        guard let started else { throw Shell.Failure(message: "pg_ctl could not start an archived server on any port") }
        port = started
        self.stanza = stanza
        Self.stopAtExit.withLock { clusters in
            if clusters.isEmpty {
                atexit {
                    for (pgCtl, data, directory) in ArchivedCluster.stopAtExit.withLock({ $0 }) {
                        ArchivedCluster.remove(pgCtl: pgCtl, data: data, directory: directory)
                    }
                }
            }
            clusters.append((binDirectory + "/pg_ctl", data, directory))
        }
        let output: String
        let backupStarted: Date
        do {
            let pgbackrest = try Self.findPgBackRest()
            try Self.asPostgres(pgbackrest, ["--config=\(configPath)", "--stanza=\(stanza)", "stanza-create"])
            // Trusted here; a copy that asks for passwords (a Neon branch in the tests) takes this one.
            _ = try Shell.run(binDirectory + "/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", directory, "-p", String(started), "-U", "postgres",
                                                       "-d", "postgres", "-c", "ALTER ROLE postgres PASSWORD '\(Self.superuserPassword)'"])
            for database in databases {
                let psql = { (database: String, sql: String) in
                    _ = try Shell.run(binDirectory + "/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", directory, "-p", String(started),
                                                           "-U", "postgres", "-d", database, "-c", sql])
                }
                try psql("postgres", "CREATE DATABASE \"\(database)\"")
                try psql(database, schema)
                // `pitr_busy` holds rows in the backup that the tests then delete and vacuum: the
                // WAL of another venue touching pages a one-database recovery leaves zeroed.
                if database == "pitr_busy" {
                    try psql(database, "INSERT INTO orders SELECT g, 'busy' FROM generate_series(1, 20000) g")
                }
            }
            backupStarted = Date()
            output = try Self.asPostgres(pgbackrest, ["--config=\(configPath)", "--stanza=\(stanza)",
                                                      "--log-level-console=info", "--type=full", "backup"])
        } catch {
            Self.remove(pgCtl: binDirectory + "/pg_ctl", data: data, directory: directory)
            throw error
        }
        (fullBackupStartedAround, fullBackupFinishedAround) = (backupStarted, Date())
        guard let range = output.range(of: "new backup label = ") else {
            Self.remove(pgCtl: binDirectory + "/pg_ctl", data: data, directory: directory)
            throw Shell.Failure(message: "pgbackrest backup named no label: \(output)")
        }
        fullBackupLabel = String(output[range.upperBound...].prefix { !$0.isWhitespace })
        // pgBackRest keeps the backup's stop to the second and recovers only to later seconds:
        // hand the cluster out once every commit a test makes can be recovered to.
        let recoverable = (fullBackupFinishedAround.timeIntervalSince1970.rounded(.down) + 1.05) - Date().timeIntervalSince1970
        if recoverable > 0 { usleep(useconds_t(recoverable * 1_000_000)) }
    }

    /// `init` on a thread of its own: setting up takes seconds of waiting on initdb, pg_ctl and
    /// pgbackrest, which must not hold a thread of the cooperative pool other tests need.
    public static func start(databases: [String]) async throws -> ArchivedCluster {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try ArchivedCluster(databases: databases) }) }.start()
        }
    }

    private static let stopAtExit = Mutex<[(String, String, String)]>([])

    /// Stops the server at once and removes its directory, repository and all.
    public func remove() {
        Self.remove(pgCtl: binDirectory + "/pg_ctl", data: dataDirectory, directory: directory)
        Self.stopAtExit.withLock { $0.removeAll { $0.2 == directory } }
    }

    private static func remove(pgCtl: String, data: String, directory: String) {
        _ = try? asPostgres(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// libpq settings for a database over the private socket, as the superuser (trust).
    public func connectionInfo(database: String) throws -> ConnectionInfo {
        try ConnectionInfo(parsing: "host=\(directory) port=\(port) dbname=\(database) user=postgres")
    }

    public func connect(database: String) async throws -> PostgresConnection {
        try await PostgresConnection.connect(try connectionInfo(database: database))
    }

    /// Runs SQL with psql over the private socket (on a thread of its own); returns its unaligned output.
    @discardableResult
    public func psql(database: String, sql: String) async throws -> String {
        try await Shell.runInBackground(binDirectory + "/psql", psqlArguments(database: database) + ["-c", sql])
    }

    /// Runs `sql` in a transaction of its own and returns the moment it committed, exactly as the
    /// commit record in the WAL has it (`track_commit_timestamp`), to the microsecond.
    public func commit(database: String, sql: String) async throws -> Date {
        let connection = try await connect(database: database)
        try await connection.execute("BEGIN")
        try await connection.execute(sql)
        let xid = try await connection.query("SELECT pg_current_xact_id()::text").value(0, 0, "a transaction id")
        try await connection.execute("COMMIT")
        let epoch = try await connection.query("SELECT extract(epoch FROM pg_xact_commit_timestamp($1::xid))::text", [xid])
            .value(0, 0, "the commit time")
        guard let seconds = Double(epoch) else { throw Shell.Failure(message: "commit time `\(epoch)` is not a number") }
        return Date(timeIntervalSince1970: seconds)
    }

    /// Ends the current WAL segment and waits until pgBackRest has archived it, so every commit
    /// made so far can be recovered.
    /// `heartbeat`: commit once more first, as a server that is never quiet does: a recovery to a
    /// moment stops at the first commit after it, so one must be in the archive.
    public func switchWALAndWaitUntilArchived(heartbeat: Bool = true, timeout: Duration = .seconds(60)) async throws {
        let connection = try await connect(database: "postgres")
        if heartbeat {
            try await connection.execute("BEGIN")
            _ = try await connection.query("SELECT pg_current_xact_id()")
            try await connection.execute("COMMIT")
        }
        let segment = try await connection.query("SELECT pg_walfile_name(pg_switch_wal())").value(0, 0, "a WAL file name")
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let archived = try await connection.query("SELECT coalesce(last_archived_wal >= $1, false) FROM pg_stat_archiver", [segment])
            if archived.scalar == "t" { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Shell.Failure(message: "WAL segment \(segment) was not archived within \(timeout); see \(directory)/server.log and \(directory)/log")
    }

    /// `pg_dump` of a database in plain format, without the `\restrict <random key>` lines that
    /// pg_dump (15.14 and later) writes differently every time: two dumps of an unchanged
    /// database are equal.
    public func pgDump(database: String) async throws -> String {
        try await Shell.runInBackground(binDirectory + "/pg_dump", ["-h", directory, "-p", String(port), "-U", "postgres", "-d", database])
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("\\restrict ") && !$0.hasPrefix("\\unrestrict ") }
            .joined(separator: "\n")
    }

    /// The stop time of a backup set as pgBackRest recorded it in the repository's backup.info,
    /// read straight from that file (not through `pgbackrest info`).
    public func recordedStopTime(ofBackup label: String) throws -> Date? {
        let text = try String(contentsOfFile: repositoryPath + "/backup/\(stanza)/backup.info", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("\(label)=") }),
              let range = line.range(of: "\"backup-timestamp-stop\":") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber }).map { Date(timeIntervalSince1970: TimeInterval($0)) }
    }

    private func psqlArguments(database: String) -> [String] {
        ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", directory, "-p", String(port), "-U", "postgres", "-d", database]
    }

    private static func writeConfig(_ path: String, directory: String, stanza: String, port: Int) throws {
        let text = """
            [global]
            repo1-path=\(directory)/repo
            repo1-retention-full=2
            log-path=\(directory)/log
            lock-path=\(directory)/lock
            spool-path=\(directory)/spool
            log-level-console=warn
            log-level-file=detail
            start-fast=y
            compress-type=none

            [\(stanza)]
            pg1-path=\(directory)/data
            pg1-socket-path=\(directory)
            pg1-port=\(port)
            pg1-user=postgres

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
    }

    private static func append(to path: String, _ text: String) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else { throw Shell.Failure(message: "cannot open \(path)") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    @discardableResult
    private static func asPostgres(_ executable: String, _ arguments: [String]) throws -> String {
        if getuid() == 0 {
            // From /, which postgres may enter (the tests may run from a directory it cannot).
            return try Shell.run("/usr/sbin/runuser", ["-u", "postgres", "--", "/usr/bin/env", "-C", "/", executable] + arguments)
        }
        return try Shell.run(executable, arguments)
    }

    private static func findPgBackRest() throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/pgbackrest" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else { throw Shell.Failure(message: "pgbackrest is not installed; run scripts/install-deps --tests") }
        return path
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

import FleetModel
import Foundation
import PostgresClient

/// Creates, fills, counts and drops databases for `verify` and `restore`: pg_restore for custom
/// dumps, psql for plain ones, with the password in the child's environment only.
struct DatabaseRestorer: Sendable {
    var tools: PgTools
    var connector: VenueConnector
    /// The venue's age settings: the identity that opens encrypted backups.
    var encryption: BackupEncryption? = nil

    /// A server to create databases on: the connection settings of an existing database there.
    struct Server: Sendable {
        var info: ConnectionInfo

        /// The same server, another database.
        func database(_ name: String) -> ConnectionInfo {
            var copy = info
            copy["dbname"] = name
            return copy
        }
    }

    func connect(_ info: ConnectionInfo, step: String) async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(info)
        } catch let error as PostgresError {
            throw FleetEngineError.connection(step: step, error)
        }
    }

    func databaseExists(_ name: String, on server: Server) async throws -> Bool {
        let connection = try await connect(server.info, step: "connect to check databases")
        return try await connection.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]).rows.count == 1
    }

    /// Creates an empty database; with `like`, one with the same owner, encoding, collation,
    /// tablespace and connection limit (its settings, comment and grants come with `finish`).
    func createDatabase(_ name: String, on server: Server, like properties: DatabaseProperties? = nil) async throws {
        let connection = try await connect(server.info, step: "connect to create \(name)")
        do {
            try await connection.execute(properties?.createStatement(name) ?? "CREATE DATABASE \(SQLQuoting.identifier(name))")
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "create database \(name)", error)
        }
    }

    /// The properties of an existing database, or nil when it does not exist.
    func properties(of name: String, on server: Server) async throws -> DatabaseProperties? {
        let connection = try await connect(server.info, step: "connect to read \(name)'s properties")
        do { return try await DatabaseProperties.read(name, on: connection) } catch let error as PostgresError {
            throw FleetEngineError.database(step: "read the properties of \(name)", error)
        }
    }

    /// Gives a restored copy the settings, comment and grants of the database it replaces.
    func finish(_ name: String, like properties: DatabaseProperties, on server: Server) async throws {
        let statements = properties.finishingStatements(name)
        guard !statements.isEmpty else { return }
        let connection = try await connect(server.info, step: "connect to set \(name)'s properties")
        do {
            try await connection.execute(statements.joined(separator: ";\n"))
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "give \(name) the settings, comment and grants of the database it replaces", error)
        }
    }

    /// Drops a database, also when the calling task was cancelled (the cleanup runs in a task of
    /// its own). Returns the error text instead of throwing: cleanup must not hide the real failure.
    @discardableResult
    func dropDatabase(_ name: String, on server: Server) async -> String? {
        let info = server.info
        return await Task {
            do {
                let connection = try await PostgresConnection.connect(info)
                try await connection.execute("DROP DATABASE IF EXISTS \(SQLQuoting.identifier(name)) WITH (FORCE)")
                return nil
            } catch {
                return "could not drop \(name): \(error)"
            }
        }.value
    }

    /// Restores a dump into `target`, streaming it through the restore chain. `keepOwners` keeps ownership and grants (same server);
    /// `clean` replaces existing objects in one transaction (`--in-place`).
    /// A plain dump carries its own DROP statements (pg_dump --clean --if-exists) and runs in one transaction.
    /// `leaveOutOwners` (a restore test with `verify.no_owner`) also leaves out tablespaces: a custom
    /// dump with `--no-tablespaces`; a plain one, which cannot be filtered, is loaded statement by
    /// statement and only its owner, grant and tablespace statements may fail for a role or a
    /// tablespace the server lacks (any other error fails the restore, as ON_ERROR_STOP would).
    func restore(_ path: String, manifest: BackupManifest, into target: ConnectionInfo,
                 keepOwners: Bool, clean: Bool, leaveOutOwners: Bool = false) async throws {
        // The reverse chain: the stored file → [age -d] → [zstd -d] → hash → the tool's stdin.
        let (toDump, afterDump, identity) = try BackupCodec.restoreStages(for: manifest, encryption: encryption)
        defer { withExtendedLifetime(identity) {} }
        let dumped = DigestTap()
        try await run(path, toDump + [.tap(dumped)] + afterDump, format: manifest.format, into: target, keepOwners: keepOwners, clean: clean,
                      leaveOutOwners: leaveOutOwners) {
            if let expected = manifest.dumpSHA256, dumped.sha256 != expected {
                throw FleetEngineError.verificationFailed("pg_dump's output after decryption and decompression has SHA-256 \(dumped.sha256.prefix(12))…, the manifest says \(expected.prefix(12))…")
            }
        }
    }

    /// Restores a dump that `CheckedDump` decoded and checked: the tool reads its file as it is.
    func restore(_ dump: CheckedDump, manifest: BackupManifest, into target: ConnectionInfo,
                 keepOwners: Bool, clean: Bool) async throws {
        try await run(dump.path, [], format: manifest.format, into: target, keepOwners: keepOwners, clean: clean, leaveOutOwners: false) {}
    }

    /// Streams `path` through `stages` into pg_restore (custom) or psql (plain); `streamed` judges
    /// the stream (its digest) once the tool has finished, before psql's tolerated errors are.
    private func run(_ path: String, _ stages: [BytePipeline.Stage], format: BackupFormat, into target: ConnectionInfo,
                     keepOwners: Bool, clean: Bool, leaveOutOwners: Bool, streamed: () throws -> Void) async throws {
        // Over a live database (`clean`), a lock held by someone else would stall the restore until
        // the deadline: the watchdog ends the wait at lock_timeout's length and names the holder.
        let watchedName = clean ? LockWatchdog.uniqueApplicationName() : nil
        var target = target
        if let watchedName { target["application_name"] = watchedName }
        let connection = try ChildConnection(target)
        defer { withExtendedLifetime(connection) {} }
        let dbname = "--dbname=" + connection.conninfo
        let (tool, arguments): (String, [String])
        switch format {
        case .custom:
            var options = ["--exit-on-error", "--no-password", dbname]
            if !keepOwners || leaveOutOwners { options += ["--no-owner", "--no-privileges"] }
            if leaveOutOwners { options.append("--no-tablespaces") }
            if clean { options += ["--clean", "--if-exists", "--single-transaction"] }
            (tool, arguments) = (tools.pgRestore, options)
        case .plain where leaveOutOwners && !clean:
            // -b: each failed statement follows its error, to be judged below.
            (tool, arguments) = (tools.psql, ["-X", "-q", "--no-password", "-b", "-v", "ON_ERROR_STOP=0", dbname, "-f", "-"])
        case .plain:
            let options = ["-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", "--single-transaction", dbname]
            (tool, arguments) = (tools.psql, options + ["-f", "-"])
        }
        let errors = format == .plain && leaveOutOwners && !clean ? try ErrorFile() : nil
        var child = ChildProcess(tool, arguments, environment: connection.environment, errorLimit: 256 * 1024)
        child.errorDescriptor = errors?.descriptor
        // Started last, so that nothing between here and its `finish` can throw past it.
        let watchdog = watchedName.map { LockWatchdog(watching: $0, on: target, limit: .milliseconds(Self.lockWait)) }
        do {
            try await BytePipeline(.file(path), stages, into: .process(child)).run()
        } catch FleetEngineError.toolFailed("age", let status, let message) where message.contains("no identity matched") {
            _ = await watchdog?.finish()
            throw FleetEngineError.refused("age \(status): the configured identity does not match this backup's recipients (\(message))")
        } catch {
            // One transaction, cancelled: the database is as it was.
            if let waited = await watchdog?.finish() { throw FleetEngineError.refused("\(URL(fileURLWithPath: tool).lastPathComponent): \(waited); nothing was changed") }
            throw errors?.explaining(error) ?? error
        }
        _ = await watchdog?.finish()
        try streamed()
        if let errors, let failure = ScratchEnvironment.firstFailure(inPsqlErrors: try errors.text()) {
            throw FleetEngineError.toolFailed(tool: "psql", status: "reported an error", message: failure)
        }
    }

    /// A child's standard error in an unlinked temporary file: as long as it needs, gone with us.
    final class ErrorFile: Sendable {
        let descriptor: Int32
        /// More than this is not read (and fails the restore: its errors cannot all be judged).
        static let limit = 16 << 20

        init() throws {
            var template = Array((FileManager.default.temporaryDirectory.path + "/gwi-fleet-errors-XXXXXX").utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw FleetEngineError.file(path: FileManager.default.temporaryDirectory.path, operation: "create a temporary file in", errno: errno) }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            descriptor = fd
        }

        func text() throws -> String {
            let size = lseek(descriptor, 0, SEEK_END)
            guard size <= Self.limit else { return "psql: ERROR:  \(size) bytes of errors, more than can be judged" }
            var data = [UInt8](repeating: 0, count: Int(size))
            let count = data.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
            guard count == size else { throw FleetEngineError.file(path: "psql's error output", operation: "read", errno: errno) }
            return String(decoding: data, as: UTF8.self)
        }

        /// A psql that failed with its words in this file: the error with its last error lines.
        func explaining(_ error: Error) -> Error {
            guard case FleetEngineError.toolFailed(let tool, let status, "") = error, let text = try? text() else { return error }
            let lines = text.split(separator: "\n").filter { $0.contains("error:") || $0.contains("ERROR:") || $0.contains("FATAL:") }
            return FleetEngineError.toolFailed(tool: tool, status: status, message: lines.suffix(3).joined(separator: "; "))
        }

        deinit { close(descriptor) }
    }

    /// lock_timeout for restores and counts: half the venue's deadline, a minute at most.
    static var lockWait: Int { MaintenanceSession.limits(for: RunContext.deadline?.limit ?? .seconds(120)).lock }

    /// Exact row counts of every user table in a database.
    func rowCounts(of target: ConnectionInfo) async throws -> [String: Int] {
        let connection = try await connect(target, step: "connect to count rows")
        do {
            try await connection.execute("SET lock_timeout = \(Self.lockWait)")
            return try await TableCounter.countAll(on: connection)
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "count rows", error)
        }
    }

    /// Tables whose counts differ, or that exist on one side only.
    static func compare(expected: [String: Int], actual: [String: Int]) -> [VerificationRecord.Mismatch] {
        comparison(expected: expected, actual: actual).mismatches
    }

    /// The manifest's tables against a restored database's, key by key (`TableCounter.key`). A key
    /// of an older manifest that is no such key (plain `s.x.t`, which `"s.x".t` and `s."x.t"` both
    /// had) is compared with every restored table it can name: it matches when one of them has its
    /// rows, and none of them is then reported as missing from the manifest.
    static func comparison(expected: [String: Int], actual: [String: Int]) -> (matched: Int, mismatches: [VerificationRecord.Mismatch]) {
        var matched = 0
        var mismatches: [VerificationRecord.Mismatch] = []
        var accounted: Set<String> = []
        for (table, rows) in expected {
            if let found = actual[table] {
                accounted.insert(table)
                if found == rows { matched += 1 } else { mismatches.append(.init(table: table, expected: rows, actual: found)) }
                continue
            }
            let candidates = TableCounter.parts(of: table) == nil
                ? actual.keys.filter { TableCounter.legacyKey(of: $0) == table }.sorted() : []
            accounted.formUnion(candidates)
            if candidates.contains(where: { actual[$0] == rows }) {
                matched += 1
            } else {
                mismatches.append(.init(table: table, expected: rows, actual: candidates.first.flatMap { actual[$0] }))
            }
        }
        for (table, rows) in actual where !accounted.contains(table) {
            mismatches.append(.init(table: table, expected: nil, actual: rows))
        }
        return (matched, mismatches.sorted { $0.table < $1.table })
    }
}

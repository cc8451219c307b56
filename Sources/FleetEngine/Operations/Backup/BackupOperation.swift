import FleetModel
import Foundation
import Logging
import PostgresClient

/// `gwi-fleet backup` on one venue: row counts and pg_dump from one exported snapshot, the dump
/// streamed through SHA-256 to a temporary file, fsynced and renamed, then the manifest, last.
public struct BackupOperation: Sendable {
    public var tools: PgTools
    public var connector: VenueConnector
    /// Replaces each venue's `backup.format` when set (`--format`).
    public var formatOverride: BackupFormat?
    /// `backup --prune`: apply the retention policy right after each successful backup.
    public var prune: Bool

    public init(tools: PgTools, connector: VenueConnector = VenueConnector(), formatOverride: BackupFormat? = nil,
                prune: Bool = false) {
        self.tools = tools
        self.connector = connector
        self.formatOverride = formatOverride
        self.prune = prune
    }

    public func run(_ venue: Venue) async throws -> VenueFigures {
        guard prune else {
            return Self.figures(of: try await backup(venue), directory: BackupCatalog.directory(of: venue))
        }
        let lock = try await VenueLock.acquire(directory: try Self.prepareDirectory(of: venue))
        defer { withExtendedLifetime(lock) {} }
        var figures = Self.figures(of: try await backup(venue, lockHeld: true), directory: BackupCatalog.directory(of: venue))
        let pruned = try await PruneOperation().prune(venue)
        figures.fields += pruned.fields.filter { $0.0 != "dry_run" }.map { ("pruned_" + $0.0, $0.1) }
        figures.summary += "; pruned: \(pruned.summary)"
        return figures
    }

    static func prepareDirectory(of venue: Venue) throws -> String {
        try LocalDirectoryStore(root: venue.backup.directory).prepare(venue.slug)
    }

    /// Takes one backup and returns its manifest (already written). `lockHeld`: the caller holds
    /// the venue's lock already (a safety backup inside `restore`).
    public func backup(_ venue: Venue, lockHeld: Bool = false, purpose: BackupPurpose = .scheduled) async throws -> BackupManifest {
        let store = LocalDirectoryStore(root: venue.backup.directory)
        let directory = try store.prepare(venue.slug)
        let lock = lockHeld ? nil : try await VenueLock.acquire(directory: directory)
        defer { withExtendedLifetime(lock) {} }
        let catalog = BackupCatalog(store: store, slug: venue.slug)
        let manifest: BackupManifest
        do {
            manifest = try await takeBackup(venue, into: catalog, purpose: purpose)
        } catch {
            let reason = Task.isCancelled ? RunContext.cancellationReason : FleetRunner.describe(error)
            try? catalog.recordAttempt(AttemptRecord(status: .failed, at: Date(), error: reason))
            throw error
        }
        do {
            try catalog.recordAttempt(AttemptRecord(status: .ok, at: manifest.finishedAt, error: nil))
        } catch {
            // Without the record, prune cannot tell a good night from a bad one: say so, loudly.
            throw FleetEngineError.refused("backup \(manifest.file) is complete, but its attempt record could not be saved (\(error)); nothing will be pruned until it can")
        }
        RunContext.logger.debug("backup complete", metadata: ["file": .string(manifest.file), "bytes": .stringConvertible(manifest.bytes)])
        return manifest
    }

    private func takeBackup(_ venue: Venue, into catalog: BackupCatalog, purpose: BackupPurpose) async throws -> BackupManifest {
        let format = formatOverride ?? venue.backup.format

        let startedAt = Date()
        let connection = try await connector.connect(venue, .direct)

        // One snapshot for the counts and the dump: both describe the same instant.
        let snapshot: String
        let serverVersion: String
        // A table locked by another session must fail the backup with who holds it, well before the
        // venue's deadline: half of it, a minute at most (pg_dump gets the same).
        let lockWait = MaintenanceSession.limits(for: RunContext.deadline?.limit ?? venue.timeout).lock
        do {
            try await connection.execute("SET lock_timeout = \(lockWait); BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            let info = try await connection.query("SELECT pg_export_snapshot(), current_setting('server_version_num')::int / 10000, current_setting('server_version')")
            snapshot = try info.value(0, 0, "a snapshot id")
            serverVersion = try info.value(0, 2, "server_version")
            let serverMajor = try info.int(0, 1, "the server's major version")
            if tools.pgDumpMajor < serverMajor {
                throw FleetEngineError.toolTooOld(tool: "pg_dump", toolMajor: tools.pgDumpMajor, serverMajor: serverMajor)
            }
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "open snapshot", error)
        }
        let rowCounts: [String: Int]
        do {
            rowCounts = try await TableCounter.countAll(on: connection)
        } catch let error as PostgresError where error.sqlState == "55P03" {
            throw FleetEngineError.refused("count rows: \(await LockHolders.describe(venue: venue, connector: connector))")
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "count rows", error)
        }

        let name = Self.availableName(in: catalog, database: venue.database, date: startedAt, format: format)
        let bytes: Int, sha256: String
        do {
            (bytes, sha256) = try await dump(venue, snapshot: snapshot, format: format, lockWait: lockWait,
                                             to: try catalog.store.create(catalog.slug, name))
        } catch FleetEngineError.toolFailed(let tool, _, let message) where message.contains("could not obtain lock") {
            throw FleetEngineError.refused("\(tool): \(await LockHolders.describe(venue: venue, connector: connector))")
        }
        // The snapshot had to stay open until pg_dump was done with it.
        _ = try? await connection.execute("COMMIT")

        let manifest = BackupManifest(
            venue: venue.slug, database: venue.database, file: name,
            format: format, bytes: bytes, sha256: sha256, startedAt: startedAt, finishedAt: Date(),
            serverVersion: serverVersion, pgDumpVersion: tools.pgDumpVersion, snapshot: snapshot,
            rowCounts: rowCounts, tool: "gwi-fleet", purpose: purpose, dropsFirst: format == .plain ? true : nil)
        try Task.checkCancellation()
        try catalog.store.write(try manifest.encoded(), catalog.slug, BackupManifest.name(forDump: name))
        return manifest
    }

    /// Runs the chain `pg_dump → SHA-256 → durable file` on the snapshot: nothing in memory, the
    /// file renamed into place only once pg_dump succeeded and every byte is on disk.
    func dump(_ venue: Venue, snapshot: String, format: BackupFormat, lockWait: Int, to file: DurableFile) async throws -> (Int, String) {
        let child = try connector.childConnection(for: venue, .direct)
        defer { withExtendedLifetime(child) {} }
        // A plain dump drops what it holds before creating it (and nothing else), so it can be
        // restored in place without touching tables, schemas or grants it does not know.
        let formatArguments = format == .custom ? ["--format=custom"] : ["--format=plain", "--clean", "--if-exists"]
        let pgDump = ChildProcess(tools.pgDump, formatArguments + [
            "--snapshot=\(snapshot)", "--lock-wait-timeout=\(lockWait)", "--no-password", "--dbname=\(child.conninfo)",
        ], environment: child.environment)
        defer { file.abandon() }
        let stored = DigestTap()
        try await BytePipeline(.process(pgDump), [.tap(stored)], into: .descriptor(file.descriptor, name: file.finalPath)).run()
        try file.commit()
        return (stored.bytes, stored.sha256)
    }

    /// `<database>-<YYYYMMDDTHHMMSSZ>.<ext>`, with `-2`, `-3` … if that second is taken.
    static func availableName(in catalog: BackupCatalog, database: String, date: Date, format: BackupFormat) -> String {
        let taken = Set(((try? catalog.store.list(catalog.slug)) ?? []).map(\.name))
        let stem = "\(database)-\(Timestamp.compact(date))"
        var candidate = "\(stem).\(format.fileExtension)"
        var counter = 2
        while taken.contains(candidate) || taken.contains(BackupManifest.name(forDump: candidate)) {
            candidate = "\(stem)-\(counter).\(format.fileExtension)"
            counter += 1
        }
        return candidate
    }

    static func figures(of manifest: BackupManifest, directory: String) -> VenueFigures {
        let rows = manifest.rowCounts.values.reduce(0, +)
        let counts = manifest.rowCounts.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int($0.value)) }
        return VenueFigures([
            ("file", .string(directory + "/" + manifest.file)),
            ("manifest", .string(BackupManifest.path(forDump: directory + "/" + manifest.file))),
            ("format", .string(manifest.format.rawValue)),
            ("bytes", .int(manifest.bytes)),
            ("sha256", .string(manifest.sha256)),
            ("server_version", .string(manifest.serverVersion)),
            ("row_counts", .object(counts)),
        ], summary: "\(ByteCount.human(manifest.bytes)) \(manifest.format.rawValue), \(manifest.rowCounts.count) tables, \(rows) rows")
    }
}

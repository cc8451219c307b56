import FleetModel
import Foundation
import Logging
import PostgresClient

/// Takes one backup of a venue into its catalog: row counts and pg_dump from one exported
/// snapshot, the dump streamed through SHA-256 (and zstd, age) to a durable file, then the
/// manifest, last, and the attempt record. Every command that takes a backup uses it (`backup`,
/// the pre-exec backup of `exec`, the safety backup of `restore`).
public struct VenueDumper: Sendable {
    public var tools: PgTools
    public var connector: VenueConnector
    /// Replaces each venue's `backup.format` when set (`--format`).
    public var formatOverride: BackupFormat?

    public init(tools: PgTools, connector: VenueConnector = VenueConnector(), formatOverride: BackupFormat? = nil) {
        self.tools = tools
        self.connector = connector
        self.formatOverride = formatOverride
    }

    /// Takes one backup and returns its manifest (already written). `lockHeld`: the caller holds
    /// the venue's lock already (a safety backup inside `restore`).
    /// Only a scheduled or pre-exec backup records the attempt (what prune and status judge the
    /// venue's nights by); a safety or point-in-time backup is no night's backup.
    public func backup(_ venue: Venue, lockHeld: Bool = false, purpose: BackupPurpose = .scheduled,
                       pitr: BackupManifest.PITR? = nil) async throws -> BackupManifest {
        let store = LocalDirectoryStore(root: venue.backup.directory)
        let directory = try store.prepare(venue.slug)
        let lock = lockHeld ? nil : try await VenueLock.acquire(directory: directory)
        defer { withExtendedLifetime(lock) {} }
        let catalog = BackupCatalog(files: store, slug: venue.slug, database: venue.database)
        if purpose.recordsAttempt {
            // Written before anything else takes disk space: if the run is killed or its outcome
            // cannot be saved (a full disk), this is what status and prune find, never the last
            // night's "ok".
            let startedAt = WallClock.now()
            do {
                try catalog.recordAttempt(AttemptRecord(status: .failed, at: startedAt,
                                                        error: "the backup started at \(Timestamp.iso8601(startedAt)) did not finish (still running, stopped, or its outcome could not be saved)",
                                                        offsiteVerifiedAt: catalog.lastAttempt()?.offsiteVerifiedAt))
            } catch {
                throw FleetEngineError.refused(VenueError(step: "record the attempt", "the attempt record could not be saved before the backup (\(error)); nothing was dumped",
                                                          hint: "nothing will be pruned until it can"))
            }
        }
        let manifest: BackupManifest
        do {
            manifest = try await takeBackup(venue, into: store, catalog: catalog, purpose: purpose, pitr: pitr)
        } catch where !purpose.recordsAttempt {
            throw error
        } catch {
            let reason = Task.isCancelled ? RunContext.cancellationReason : FleetRunner.describe(error)
            try? catalog.recordAttempt(AttemptRecord(status: .failed, at: WallClock.now(), error: reason,
                                                     offsiteVerifiedAt: catalog.lastAttempt()?.offsiteVerifiedAt))
            throw error
        }
        if !purpose.recordsAttempt { return manifest }
        do {
            try catalog.recordAttempt(AttemptRecord(status: .ok, at: manifest.finishedAt, error: nil,
                                                    offsiteVerifiedAt: catalog.lastAttempt()?.offsiteVerifiedAt))
        } catch {
            // Without the record, prune cannot tell a good night from a bad one: say so, loudly.
            throw FleetEngineError.refused(VenueError(step: "record the attempt", "backup \(manifest.file) is complete, but its attempt record could not be saved (\(error))",
                                                      hint: "nothing will be pruned until it can"))
        }
        RunContext.logger.debug("backup complete", metadata: ["file": .string(manifest.file), "bytes": .stringConvertible(manifest.bytes)])
        return manifest
    }

    private func takeBackup(_ venue: Venue, into store: LocalDirectoryStore, catalog: BackupCatalog, purpose: BackupPurpose,
                            pitr: BackupManifest.PITR?) async throws -> BackupManifest {
        let format = formatOverride ?? venue.backup.format

        let startedAt = WallClock.now()
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
            throw FleetEngineError.refused(VenueError(step: "count rows", await LockHolders.describe(venue: venue, connector: connector)))
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "count rows", error)
        }

        let codec = BackupCodec(policy: venue.backup, format: format)
        let name = Self.availableName(in: catalog, database: venue.database, date: startedAt, extension: codec.fileExtension)
        let digests: (dump: DigestTap.Digest, stored: DigestTap.Digest)
        do {
            digests = try await dump(venue, snapshot: snapshot, codec: codec, lockWait: lockWait,
                                     to: try store.create(catalog.slug, name))
        } catch FleetEngineError.toolFailed(let tool, _, let message) where message.contains("could not obtain lock") {
            throw FleetEngineError.refused(VenueError(step: tool, await LockHolders.describe(venue: venue, connector: connector)))
        }
        // The snapshot had to stay open until pg_dump was done with it.
        _ = try? await connection.execute("COMMIT")

        var manifest = BackupManifest(
            venue: venue.slug, database: venue.database, file: name,
            format: format, bytes: digests.stored.bytes, sha256: digests.stored.sha256, startedAt: startedAt, finishedAt: WallClock.now(),
            serverVersion: serverVersion, pgDumpVersion: tools.pgDumpVersion, snapshot: snapshot,
            rowCounts: rowCounts, tool: "gwi-fleet", purpose: purpose, dropsFirst: format == .plain ? true : nil)
        manifest.compression = codec.manifestCompression
        manifest.encryption = codec.manifestEncryption()
        manifest.dumpSHA256 = digests.dump.sha256
        manifest.md5 = digests.stored.md5
        manifest.pitr = pitr
        try Task.checkCancellation()
        try await store.write(try manifest.encoded(), catalog.slug, BackupManifest.name(forDump: name))
        return manifest
    }

    /// Runs the chain `pg_dump → hash → [zstd] → [age] → hash → durable file` on the snapshot:
    /// nothing in memory, the file renamed into place only once every stage succeeded and every
    /// byte is on disk. Returns the digests of pg_dump's output and of the stored file.
    func dump(_ venue: Venue, snapshot: String, codec: BackupCodec, lockWait: Int,
              to file: DurableFile) async throws -> (dump: DigestTap.Digest, stored: DigestTap.Digest) {
        let child = try connector.childConnection(for: venue, .direct)
        defer { withExtendedLifetime(child) {} }
        // A plain dump drops what it holds before creating it (and nothing else), so it can be
        // restored in place without touching tables, schemas or grants it does not know.
        let formatArguments = codec.format == .custom ? ["--format=custom"] : ["--format=plain", "--clean", "--if-exists"]
        let pgDump = ChildProcess(tools.pgDump, formatArguments + codec.pgDumpArguments + [
            "--snapshot=\(snapshot)", "--lock-wait-timeout=\(lockWait)", "--no-password", "--dbname=\(child.conninfo)",
        ], environment: child.environment)
        defer { file.abandon() }
        let dumped = DigestTap(), stored = DigestTap()
        try await BytePipeline(.process(pgDump), [.tap(dumped)] + (try codec.storeStages()) + [.tap(stored)],
                               into: .descriptor(file.descriptor, name: file.finalPath)).run()
        try await file.commitOffThePool()
        return (dumped.digest, stored.digest)
    }

    /// `<database>-<YYYYMMDDTHHMMSSZ>.<ext>`, with `-2`, `-3` … if that second is taken.
    static func availableName(in catalog: BackupCatalog, database: String, date: Date, extension: String) -> String {
        let taken = Set(((try? catalog.files.listFiles(catalog.slug)) ?? []).map(\.name))
        let stem = "\(database)-\(Timestamp.compact(date))"
        var candidate = "\(stem).\(`extension`)"
        var counter = 2
        while taken.contains(candidate) || taken.contains(BackupManifest.name(forDump: candidate)) {
            candidate = "\(stem)-\(counter).\(`extension`)"
            counter += 1
        }
        return candidate
    }
}

import FleetModel
import Foundation
import Logging
import PostgresClient

/// `gwi-fleet verify` on one venue: checksum, restore into a scratch database, count every table
/// against the manifest, drop the scratch database, record the result beside the backup.
public struct VerifyOperation: Sendable {
    /// Which backups of a venue to verify.
    public enum Selection: Sendable, Equatable {
        case latest
        case all
        case file(String)
    }

    public var tools: PgTools
    public var connector: VenueConnector
    public var selection: Selection

    /// The store the backups are read from (`--from`): a remote's are brought into a private
    /// temporary directory and their verification records go back to it.
    public var source: BackupSource
    public var remoteEnvironment: [String: String?]
    /// The run's Neon scratch branches, for venues with `verify.scratch.neon`.
    public var scratchBranches: VerifyScratchBranches?

    public init(tools: PgTools, connector: VenueConnector = VenueConnector(), selection: Selection = .latest,
                source: BackupSource = .local, remoteEnvironment: [String: String?] = [:]) {
        self.tools = tools
        self.connector = connector
        self.selection = selection
        self.source = source
        self.remoteEnvironment = remoteEnvironment
    }

    /// `gwi_verify_<slug, underscored, 30 at most>_<YYYYMMDDHHMMSS>_<4 hex>`: never a venue's
    /// `gwi_pos_` name, at most 61 bytes, and its time tells `leftovers` how old it is.
    static func scratchName(for slug: String, at date: Date = WallClock.now()) -> String {
        let stamp = Timestamp.compact(date).filter(\.isNumber)
        return scratchStem(for: slug) + "_" + stamp + "_" + String(format: "%04x", UInt16.random(in: 0...UInt16.max))
    }

    static func scratchStem(for slug: String) -> String {
        "gwi_verify_" + String(slug.replacingOccurrences(of: "-", with: "_").prefix(30))
    }

    /// True for this venue's scratch databases only: `big` never claims `big_two`'s.
    static func isScratch(_ name: String, of slug: String) -> Bool {
        let stem = scratchStem(for: slug)
        guard name.hasPrefix(stem + "_") else { return false }
        let rest = name.dropFirst(stem.count + 1)
        return rest.range(of: #"^[0-9]{14}_[0-9a-f]{4}$"#, options: .regularExpression) != nil
    }

    public func run(_ venue: Venue) async throws -> VerifyResult {
        let directory = try BackupCatalog.prepareDirectory(of: venue)
        let lock = try await VenueLock.acquire(directory: directory)
        defer { withExtendedLifetime(lock) {} }

        let choice: StagedBackups.Choice = switch selection {
        case .latest: .latest
        case .all: .all
        case .file(let path): .named(path)
        }
        let staged = try await StagedBackups.stage(venue, from: try source.store(for: venue, environment: remoteEnvironment), choice: choice)
        let entries = staged.catalog.entries()
        let chosen: [CatalogEntry]
        switch selection {
        case .latest:
            chosen = entries.latestRestorePoint.map { [$0] } ?? []
        case .all:
            chosen = entries.filter { $0.manifest != nil }
        case .file(let path):
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            let name = URL(fileURLWithPath: path).lastPathComponent
            guard let entry = entries.first(where: { staged.isInPlace && path.contains("/") ? $0.path == absolute : $0.fileName == name }), entry.manifest != nil else {
                throw FleetEngineError.backupNotFound("\(path) is not a backup of \(venue.slug) with a manifest")
            }
            chosen = [entry]
        }
        guard !chosen.isEmpty else {
            throw FleetEngineError.backupNotFound(VenueError("no complete backup of \(venue.slug) in \(directory)", hint: "run gwi-fleet backup"))
        }

        let restorer = DatabaseRestorer(tools: tools, connector: connector, encryption: venue.backup.encryption)
        let server = try await scratchServer(for: venue)
        try await dropLeftoverScratchDatabases(of: venue, on: server, restorer: restorer)

        var results: [VerifyResult.Backup] = []
        var failures: [String] = []
        for entry in chosen {
            RunContext.logger.debug("verifying", metadata: ["backup": .string(entry.fileName)])
            let (record, inconclusive) = await verify(entry, of: venue, on: server, restorer: restorer)
            try Task.checkCancellation()
            let backup = VerifyResult.Backup(record, file: staged.storePath(of: entry), verifyFailed: inconclusive)
            results.append(backup)
            // Only the backup's own fault (checksum, restore error, table mismatch) is recorded; a
            // server or connection failure says nothing about the backup: next run tries again.
            if inconclusive == nil { try BackupCatalog.record(record, forDump: entry.path) }
            if !backup.ok { failures.append("\(entry.fileName): \(backup.description)") }
        }
        try await staged.returnRecords()
        // A failed verify's report keeps every backup's checksum, restore and table details.
        if !failures.isEmpty { throw VenueFailure(VenueError(failures.joined(separator: "; ")), result: VerifyResult(backups: results)) }
        return VerifyResult(backups: results)
    }

    /// `verify.scratch.neon`: the run's branch, reached with the venue's own role and password;
    /// else `verify.scratch_url` or the venue's server.
    func scratchServer(for venue: Venue) async throws -> DatabaseRestorer.Server {
        guard let neon = venue.scratchNeon else { return try connector.scratchServer(for: venue) }
        guard let scratchBranches else {
            throw FleetEngineError.refused(VenueError(step: "verify", "verify.scratch.neon needs the run's scratch branches"))
        }
        let runID: String = if case .string(let id)? = RunContext.logger[metadataKey: "run"] { id } else { Timestamp.compact(WallClock.now()) }
        let host = try await scratchBranches.host(for: neon, runID: runID)
        return DatabaseRestorer.Server(info: try connector.connectionInfo(for: venue, .direct).onHost(host))
    }

    /// One backup: never throws, so the record says how far it got. The second value is set when
    /// the attempt says nothing about the backup (server or connection failure, interruption).
    func verify(_ entry: CatalogEntry, of venue: Venue, on server: DatabaseRestorer.Server,
                restorer: DatabaseRestorer) async -> (VerificationRecord, inconclusive: String?) {
        let manifest = entry.manifest!
        var record = VerificationRecord(verifiedAt: WallClock.now(), sha256: manifest.sha256, checksumOK: false, restoreOK: false,
                                        tablesMatched: 0, tables: manifest.rowCounts.count, mismatches: [], error: nil)
        do {
            let stored = try await DigestTap.file(entry.path)
            let (bytes, sha256) = (stored.bytes, stored.sha256)
            guard bytes == manifest.bytes && sha256 == manifest.sha256 else {
                record.error = "checksum mismatch: file has \(bytes) bytes, SHA-256 \(sha256.prefix(12))…; manifest says \(manifest.bytes) bytes, \(manifest.sha256.prefix(12))…"
                return (record, nil)
            }
            record.checksumOK = true
        } catch {
            return (record, "reading the file: \(error)")
        }

        let scratch = Self.scratchName(for: venue.slug)
        // Recorded before it exists: `leftovers --drop` drops only databases gwi-fleet recorded making.
        let created = CreatedDatabases(venue: venue)
        do {
            try created.add(scratch, by: "verify")
            try await restorer.createDatabase(scratch, on: server)
        } catch {
            return (record, "\(error)")
        }
        var inconclusive: String?
        do {
            try await restorer.restore(entry.path, manifest: manifest, into: server.database(scratch),
                                       keepOwners: false, clean: false, leaveOutOwners: venue.verifyNoOwner)
            record.restoreOK = true
            let actual = try await restorer.rowCounts(of: server.database(scratch))
            (record.tablesMatched, record.mismatches) = DatabaseRestorer.comparison(expected: manifest.rowCounts, actual: actual)
        } catch {
            if Task.isCancelled || Self.isServerFailure(error) {
                inconclusive = Task.isCancelled ? "interrupted" : "\(error)"
            } else if let problem = ScratchEnvironment.problem(of: error, noOwner: venue.verifyNoOwner) {
                // A role or tablespace the scratch server lacks: a failed run, not a corrupt backup.
                inconclusive = problem
            } else {
                record.error = "\(error)"
            }
        }
        if let dropError = await restorer.dropDatabase(scratch, on: server) {
            if record.error == nil, inconclusive == nil { record.error = dropError }
        } else {
            created.remove(scratch)
        }
        record.verifiedAt = WallClock.now()
        return (record, inconclusive)
    }

    /// A failure that says nothing about the dump: the server or the connection (connecting, a
    /// dropped or terminated session, a server starting up or shutting down, the timeout), or this
    /// machine's setup (no identity to decrypt with, a tool missing).
    static func isServerFailure(_ error: Error) -> Bool {
        switch error {
        case let error as PostgresError: return error.isTransient || error == .cancelled || error.sqlState?.hasPrefix("57") == true
        case FleetEngineError.connection, FleetEngineError.timedOut, FleetEngineError.interrupted: return true
        // A missing or wrong age identity, a missing tool: this machine's setup, not the backup.
        case FleetEngineError.refused, FleetEngineError.toolMissing: return true
        case FleetEngineError.database(_, let error): return isServerFailure(error)
        case FleetEngineError.toolFailed(_, let status, let message):
            let signs = ["could not connect", "connection to server", "server closed the connection", "terminating connection",
                         "the database system is", "Connection refused", "no connection to the server", "SSL SYSCALL error",
                         "connection timed out"]
            return status.contains("killed by signal") || signs.contains { message.contains($0) }
        default: return false
        }
    }

    /// Scratch databases of this venue left by a run that was killed (its own are always dropped).
    func dropLeftoverScratchDatabases(of venue: Venue, on server: DatabaseRestorer.Server, restorer: DatabaseRestorer) async throws {
        let connection = try await restorer.connect(server.info, step: "connect to the scratch server")
        let leftovers = try await connection.query(#"SELECT datname FROM pg_database WHERE datname LIKE 'gwi\_verify\_%'"#)
        for row in leftovers.rows {
            if let name = row[0], Self.isScratch(name, of: venue.slug), let error = await restorer.dropDatabase(name, on: server) {
                throw FleetEngineError.verificationFailed(VenueError(error))
            }
        }
    }
}

import FleetModel
import Foundation
import Logging
import PostgresClient

/// A venue restored from one of its backups: `gwi-fleet restore`, and the rollback of `exec`. A
/// checksum mismatch stops it before anything is touched; replacing a venue's database goes
/// through a safety backup and a fully restored and counted copy before any name changes, so a
/// failed restore leaves the venue exactly as it was.
public struct RestoreOperation: Sendable {
    /// Where the backup goes.
    public enum Target: Sendable, Equatable {
        /// `into a new database X`, `in place`, `over the venue's database`.
        func description(_ venue: Venue) -> String {
            switch self {
            case .newDatabase(let name): "into a new database \(name)"
            case .inPlace: "in place over \(venue.database)"
            case .replace: "over \(venue.database) (safety backup, copy, swap)"
            }
        }

        /// A new database on the venue's server; refused if it exists.
        case newDatabase(String)
        /// Replace the venue's database by renaming (old one kept as `<db>__replaced_<ts>`).
        case replace
        /// Restore over the venue's database in one transaction (managed services without rename).
        case inPlace
    }

    public var tools: PgTools
    public var connector: VenueConnector
    /// The backup file; the newest complete backup when nil.
    public var backupFile: String?
    public var target: Target
    /// `--yes`: allowed to overwrite a database that holds data.
    public var confirmed: Bool
    /// The store the backup is read from (`--from`): a remote's is downloaded to a private
    /// temporary directory, checked, decrypted, decompressed, with no local backup needed.
    public var source = BackupSource.local
    public var remoteEnvironment: [String: String?] = [:]
    /// `--at`: the database as it was at this moment (point-in-time recovery of the venue's
    /// `pitr:` provider, taken as a `pitr` backup first), instead of a backup file.
    public var at: Date?
    /// With `at`: say what would be used (window, base backup, target), touch nothing.
    public var dryRun = false
    /// The caller holds the venue's lock already (`exec`'s rollback, inside the exec).
    var lockHeld = false
    /// Where `exec` saves its reports: "latest" being a pre-exec backup names the exec run that took it.
    public var reportsDirectory: String?
    /// Tests only: runs while an in-place restore holds its share of the server's lock table.
    var whileHoldingLocks: (@Sendable () async -> Void)?

    /// An `--at` time: RFC 3339 (a space allowed for the `T`), with its zone.
    public static func parseMoment(_ text: String) -> Date? { Timestamp.parseRFC3339(text) }
    /// Tests only: runs just before the swap, inside the part that cannot be interrupted.
    var pauseBeforeSwap: (@Sendable () async -> Void)?

    public init(tools: PgTools, connector: VenueConnector = VenueConnector(), backupFile: String? = nil,
                target: Target = .replace, confirmed: Bool = false) {
        self.tools = tools
        self.connector = connector
        self.backupFile = backupFile
        self.target = target
        self.confirmed = confirmed
    }

    public func run(_ venue: Venue) async throws -> RestoreResult {
        let directory = try BackupCatalog.prepareDirectory(of: venue)
        // A dry run only reads: it neither waits for nor blocks another run of the venue.
        let lock = lockHeld || (at != nil && dryRun) ? nil : try await VenueLock.acquire(directory: directory)
        defer { withExtendedLifetime(lock) {} }

        var backupFile = self.backupFile
        var pitr: BackupManifest.PITR?
        var leftBehind: String?
        if let at {
            let dump = PointInTimeDump(tools: tools, connector: connector)
            // What the restore would refuse, refused before a recovery that may take an hour.
            let needsYes = try await refusalBeforeRecovery(of: venue)
            if dryRun {
                let plan = try await dump.plan(venue, at: at)
                return RestoreResult(backup: plan.provider + (plan.startsFrom.map { " " + $0 } ?? ""),
                                     summary: "would recover \(venue.database) at \(Timestamp.iso8601(at)) through \(plan.provider) from \(plan.startsFrom ?? "?")"
                                        + " (recoverable \(plan.earliest.map(Timestamp.iso8601) ?? "?") to \(plan.latest.map(Timestamp.iso8601) ?? "?"))"
                                        + ", then restore it \(target.description(venue))" + (needsYes.map { " (\($0))" } ?? ""))
            }
            let manifest: BackupManifest
            (manifest, leftBehind) = try await dump.take(venue, at: at)
            backupFile = BackupCatalog.directory(of: venue) + "/" + manifest.file
            pitr = manifest.pitr
        }
        let staged = try await StagedBackups.stage(venue, from: try source.store(for: venue, environment: remoteEnvironment),
                                                   choice: backupFile.map { .named($0) } ?? .latest)
        defer { withExtendedLifetime(staged) {} }
        let entry = try chooseBackup(of: venue, from: staged, file: backupFile)
        var result = try await restore(entry, of: venue, staged: staged, latest: backupFile == nil, directory: directory)
        result.leftBehind = leftBehind
        if let pitr {
            result.pitr = pitr
            let recovered = pitr.provider == "neon" ? "Neon branch made at" : "last commit replayed"
            result.summary = "as at \(Timestamp.iso8601(pitr.target)) (\(recovered) \(Timestamp.iso8601(pitr.recoveredTo))): " + result.summary
        }
        return result
    }

    /// The target's own refusals (the copy's name taken, rows replaced without `--yes`, in place
    /// with no database), checked before a point-in-time recovery is made for nothing. A dry run
    /// is not refused for want of `--yes`: it says so (the returned note).
    func refusalBeforeRecovery(of venue: Venue) async throws -> String? {
        let restorer = DatabaseRestorer(tools: tools, connector: connector, encryption: venue.backup.encryption)
        let server = DatabaseRestorer.Server(info: try connector.connectionInfo(for: venue, .direct))
        switch target {
        case .newDatabase(let name):
            if try await restorer.databaseExists(name, on: server) {
                throw FleetEngineError.refused(VenueError("database \(name) already exists", hint: "choose another --as name"))
            }
        case .replace, .inPlace:
            guard try await restorer.databaseExists(venue.database, on: server) else {
                if target == .inPlace { throw FleetEngineError.refused(VenueError("\(venue.database) does not exist", hint: "--in-place needs it (use --as or the default replace)")) }
                return nil
            }
            let rows = try await restorer.rowCounts(of: server.database(venue.database)).values.reduce(0, +)
            if rows > 0 && !confirmed {
                if dryRun { return "the real run needs --yes: \(venue.database) holds \(rows) rows" }
                throw FleetEngineError.refused(VenueError("\(venue.database) holds \(rows) rows", hint: "pass --yes to replace it (a safety backup is taken first)"))
            }
        }
        return nil
    }

    /// Restores `entry` into the target; `latest`: it was chosen as the latest restore point.
    func restore(_ entry: CatalogEntry, of venue: Venue, staged: StagedBackups, latest: Bool, directory: String) async throws -> RestoreResult {
        let manifest = entry.manifest!
        let stored = try await DigestTap.file(entry.path)
        let (bytes, sha256) = (stored.bytes, stored.sha256)
        guard bytes == manifest.bytes, sha256 == manifest.sha256 else {
            throw FleetEngineError.refused("checksum mismatch in \(entry.fileName) (\(bytes) bytes, SHA-256 \(sha256.prefix(12))…; manifest: \(manifest.bytes) bytes, \(manifest.sha256.prefix(12))…): nothing was touched")
        }
        let restorer = DatabaseRestorer(tools: tools, connector: connector, encryption: venue.backup.encryption)
        let server = DatabaseRestorer.Server(info: try connector.connectionInfo(for: venue, .direct))
        var result = RestoreResult(backup: staged.storePath(of: entry))
        // "latest" passed over newer backups that are corrupt or unfinished: say so.
        // (From a remote, its whole listing: only the chosen backup was brought here.)
        let skipped = latest
            ? staged.storeEntries.filter {
                $0.date > entry.date && ($0.state == .corrupt || $0.state == .incomplete) && !$0.fileName.hasSuffix(".partial")
            } : []
        if !skipped.isEmpty {
            result.skippedNewer = skipped.map { "\(staged.isInPlace ? $0.fileName : staged.storePath(of: $0)): \($0.state.rawValue) (\($0.reason ?? "?"))" }
            RunContext.logger.warning("latest skips newer unusable backups", metadata: ["skipped": .string(skipped.map(\.fileName).joined(separator: ", "))])
        }
        let skippedNote = Self.skippedNote(skipped, staged: staged)
        if latest {
            try afterExec(entry, of: venue, into: &result)
        }

        // The venue's database as it is now: a copy takes its owner, settings, comment and grants.
        let properties = try await restorer.properties(of: venue.database, on: server)

        switch target {
        case .newDatabase(let name):
            guard try await !restorer.databaseExists(name, on: server) else {
                throw FleetEngineError.refused(VenueError("database \(name) already exists", hint: "choose another --as name"))
            }
            let dump = try await check(entry, venue: venue)
            // Recorded before it is made, as every database gwi-fleet makes: coverage lists it as
            // this venue's restored copy (not uncovered), and `leftovers --drop` may remove it once old.
            try CreatedDatabases(venue: venue).add(name, by: CreatedDatabases.restoredCopy)
            let matched = try await restoreCounted(entry, dump, into: name, on: server, restorer: restorer, like: properties)
            result.restoredInto = name
            result.tablesMatched = matched
            result.summary = "restored \(entry.fileName) into new database \(name), \(matched) tables matched" + skippedNote
            return result

        case .replace, .inPlace:
            let exists = properties != nil
            if target == .inPlace && manifest.format == .plain && manifest.dropsFirst != true {
                throw FleetEngineError.refused("\(entry.fileName) is a plain backup without DROP statements (taken before gwi-fleet wrote them), so it cannot replace what it holds in place without dropping other things too; restore it with the default replace or --as: nothing was touched")
            }
            if target == .inPlace && !exists {
                throw FleetEngineError.refused(VenueError("\(venue.database) does not exist", hint: "--in-place needs it (use --as or the default replace)"))
            }
            if exists {
                let rows = try await restorer.rowCounts(of: server.database(venue.database)).values.reduce(0, +)
                if rows > 0 && !confirmed {
                    throw FleetEngineError.refused(VenueError("\(venue.database) holds \(rows) rows", hint: "pass --yes to replace it (a safety backup is taken first)"))
                }
            }
            // Every check of the bytes passes before anything is written: the dump is read once,
            // into a private file, and its digest compared with the manifest's.
            let dump = try await check(entry, venue: venue)
            // In place, the restores of one server share its lock table: this one waits for room
            // beside those of this process, before its safety backup (taken just before the restore).
            var reservation: LockBudget.Reservation?
            var waited = ""
            if target == .inPlace {
                let locks = try await lockNeeds(dump, of: entry, venue: venue, server: server, restorer: restorer)
                reservation = try await LockBudget.Servers.shared.reserve(locks.needed, of: locks.capacity.locks, on: Self.serverKey(server)) { running, held in
                    RunContext.logger.notice("waiting for room in the server's lock table", metadata: [
                        "needs": .string(String(locks.needed)), "held": .string(String(held)), "running": .string(String(running))])
                }
                waited = reservation?.queued.map {
                    "; waited for room in the server's lock table (needs about \(locks.needed) of \(locks.capacity.locks); \($0.running) other in-place restore(s) held \($0.held))"
                } ?? ""
            }
            defer { withExtendedLifetime(reservation) {} }
            var safety: BackupManifest?
            if exists {
                safety = try await VenueDumper(tools: tools, connector: connector).backup(venue, lockHeld: true, purpose: .safety)
                result.safetyBackup = directory + "/" + safety!.file
            }
            do {
                return try await replace(entry, dump, of: venue, server: server, restorer: restorer, properties: properties,
                                         safety: safety, directory: directory, note: waited + skippedNote, result: result)
            } catch let failure as VenueFailure {
                throw failure
            } catch {
                // The report names the safety backup also when the restore failed.
                guard let safety else { throw error }
                let failure = VenueError(error)
                throw VenueFailure(failure.description.contains(safety.file) ? failure : failure.adding("the safety backup is \(directory)/\(safety.file)"),
                                   result: result)
            }
        }
    }

    /// The target's database replaced by `dump`, after the safety backup: in place, or by a copy and a swap.
    func replace(_ entry: CatalogEntry, _ dump: CheckedDump, of venue: Venue, server: DatabaseRestorer.Server, restorer: DatabaseRestorer,
                 properties: DatabaseProperties?, safety: BackupManifest?,
                 directory: String, note skippedNote: String, result: RestoreResult) async throws -> RestoreResult {
        var result = result
        let exists = properties != nil
        if target == .inPlace, let safety {
            await whileHoldingLocks?()
            let (matched, untouched) = try await restoreInPlace(entry, dump, venue: venue, server: server, restorer: restorer, safety: safety)
            result.restoredInto = venue.database
            result.tablesMatched = matched
            result.untouchedTables = untouched
            result.undo = "gwi-fleet restore \(venue.slug) --in-place --yes --backup \(directory)/\(safety.file)"
            let note = untouched.isEmpty ? "" : "; tables not in the backup left as they were: " + untouched.joined(separator: ", ")
            result.summary = "restored \(entry.fileName) in place, \(matched) tables matched; safety backup \(safety.file)" + note + skippedNote
            return result
        }
        RunContext.logger.info("restoring beside the live database", metadata: ["backup": .string(entry.fileName)])
        let stamp = Timestamp.compact(WallClock.now())
        let staging = String(venue.database.prefix(63 - 13 - stamp.count)) + "__restoring_" + stamp
        let replaced = exists ? String(venue.database.prefix(63 - 11 - stamp.count)) + "__replaced_" + stamp : nil
        // Recorded before they exist: `leftovers --drop` drops only databases gwi-fleet recorded making.
        let created = CreatedDatabases(venue: venue)
        try created.add(staging, by: "restore")
        if let replaced { try created.add(replaced, by: "restore") }
        let matched = try await restoreCounted(entry, dump, into: staging, on: server, restorer: restorer, like: properties)
        // From here on the swap runs to its end whatever happens (Ctrl-C, the deadline): a venue
        // must never be left without its database, and the report must say where things are.
        let swapped = await Task { [pauseBeforeSwap] () -> FleetEngineErrorText? in
            await pauseBeforeSwap?()
            do {
                try await swap(from: replaced, staging: staging, into: venue.database, server: server, restorer: restorer)
                return nil
            } catch {
                return FleetEngineErrorText(FleetRunner.describe(error))
            }
        }.value
        if let swapped { throw FleetEngineError.refused(VenueError(swapped.text)) }
        created.remove(staging)  // now the venue's own database
        result.restoredInto = venue.database
        result.tablesMatched = matched
        let summary: String
        if let replaced {
            let undo = "ALTER DATABASE \(SQLQuoting.identifier(venue.database)) RENAME TO \(SQLQuoting.identifier(staging)); "
                + "ALTER DATABASE \(SQLQuoting.identifier(replaced)) RENAME TO \(SQLQuoting.identifier(venue.database));"
            result.replacedDatabase = replaced
            result.undo = undo
            summary = "restored \(entry.fileName), \(matched) tables matched; old database kept as \(replaced); to undo: \(undo)"
        } else {
            summary = "restored \(entry.fileName) into \(venue.database) (it did not exist), \(matched) tables matched"
        }
        result.summary = summary
        if Task.isCancelled {
            // Interrupted while the swap ran: it finished; say so with everything needed to undo it.
            throw VenueFailure("interrupted after the swap completed: \(summary)", result: result)
        }
        result.summary += skippedNote
        return result
    }

    /// The backup's dump decrypted, decompressed and checked against the manifest into a private file.
    func check(_ entry: CatalogEntry, venue: Venue) async throws -> CheckedDump {
        try await CheckedDump.decode(entry.path, manifest: entry.manifest!, encryption: venue.backup.encryption)
    }

    /// The locks an in-place restore of `dump` needs and the server's lock table; refused when it
    /// alone cannot fit, before anything is touched.
    func lockNeeds(_ dump: CheckedDump, of entry: CatalogEntry, venue: Venue, server: DatabaseRestorer.Server,
                   restorer: DatabaseRestorer) async throws -> (needed: Int, capacity: LockBudget.Capacity) {
        let live: [String: Int]
        let database = try await restorer.connect(server.database(venue.database), step: "connect to count the live database's objects")
        do { live = try await LockBudget.liveKinds(on: database) } catch let error as PostgresError {
            throw FleetEngineError.database(step: "count the live database's objects", error)
        }
        let needed = try await LockBudget.estimate(dump, format: entry.manifest!.format, tools: tools, live: live)
        let connection = try await restorer.connect(server.info, step: "connect to read the server's lock settings")
        let capacity: LockBudget.Capacity
        do { capacity = try await LockBudget.capacity(on: connection) } catch let error as PostgresError {
            throw FleetEngineError.database(step: "read the server's lock settings", error)
        }
        guard needed <= capacity.locks else {
            let enough = (needed + capacity.processes - 1) / capacity.processes
            throw FleetEngineError.refused(VenueError(step: "restore in place",
                "\(entry.fileName) needs about \(needed) locks in one transaction and the server's lock table holds \(capacity.text); nothing was touched",
                hint: "raise max_locks_per_transaction to at least \(enough) (a server restart), or restore with the default replace or --as"))
        }
        return (needed, capacity)
    }

    /// One server, as the lock table is shared: host and port of the venue's direct connection.
    static func serverKey(_ server: DatabaseRestorer.Server) -> String {
        (server.info["host"] ?? server.info["hostaddr"] ?? "") + ":" + (server.info["port"] ?? "5432")
    }

    /// `; skipped newer corrupt backup x.dump.zst` for a summary (a remote's backups by their remote path).
    static func skippedNote(_ skipped: [CatalogEntry], staged: StagedBackups) -> String {
        skipped.isEmpty ? "" : "; skipped newer " + skipped.map {
            "\($0.state.rawValue) \(staged.isInPlace ? "" : "off-site ")backup \(staged.isInPlace ? $0.fileName : staged.storePath(of: $0))"
        }.joined(separator: ", ")
    }

    /// "Latest" is `entry`, the backup an `exec` run took before its command: unless that run
    /// rolled the venue back (so the database is as the backup holds it), restoring it undoes what
    /// the command changed since (a migration). Refused without `--yes`; with it, said in the
    /// report (`exec_run`, a warning). `--backup FILE` names the backup and is not asked.
    /// "latest" taken before a migration: the pre-exec backup of an exec run, or any backup older
    /// than an exec run (`--no-backup`) that changed the venue. Restoring it over the venue undoes
    /// that run: refused unless asked for (`--backup` or `--yes`); into a new database (`--as`) it
    /// only says so.
    func afterExec(_ entry: CatalogEntry, of venue: Venue, into result: inout RestoreResult) throws {
        guard let manifest = entry.manifest else { return }
        let name: String
        let why: String
        if manifest.effectivePurpose == .preExec {
            let run = reportsDirectory.flatMap { ExecRunRecord.find(backupFile: entry.fileName, slug: venue.slug, in: $0) }
            if let run, run.rolledBack { return }
            name = run?.description ?? "an exec run whose report is not in \(reportsDirectory ?? "the reports directory")"
            why = "is the pre-exec backup of \(name)"
        } else {
            guard let run = reportsDirectory.flatMap({ ExecRunRecord.latest(after: manifest.finishedAt, slug: venue.slug, in: $0) }) else { return }
            name = run.description
            why = "was taken before \(name) changed the venue"
        }
        result.execRun = name
        if case .newDatabase = target { return }
        guard confirmed else {
            throw FleetEngineError.refused(VenueError("the latest restore point \(entry.fileName) \(why): restoring it undoes what that run changed since; nothing was touched",
                                                      hint: "pass --backup \(entry.fileName) (or --yes) to restore it anyway, or --backup an older backup"))
        }
    }

    func chooseBackup(of venue: Venue, from staged: StagedBackups, file backupFile: String?) throws -> CatalogEntry {
        let entries = staged.catalog.entries()
        if let backupFile {
            let absolute = URL(fileURLWithPath: backupFile).standardizedFileURL.path
            let name = URL(fileURLWithPath: backupFile).lastPathComponent
            guard let entry = entries.first(where: { staged.isInPlace && backupFile.contains("/") ? $0.path == absolute : $0.fileName == name }) else {
                throw FleetEngineError.backupNotFound("\(backupFile) is not a backup in \(BackupCatalog.directory(of: venue))")
            }
            guard entry.manifest != nil else {
                throw FleetEngineError.refused("\(entry.fileName) is \(entry.state.rawValue) (\(entry.reason ?? "no manifest")): nothing was touched")
            }
            return entry
        }
        guard let entry = entries.latestRestorePoint else {
            throw FleetEngineError.backupNotFound(VenueError("no complete backup of \(venue.slug) in \(BackupCatalog.directory(of: venue))", hint: "run gwi-fleet backup"))
        }
        return entry
    }

    /// Creates `name`, restores into it and checks every table against the manifest; on any
    /// failure the new database is dropped again. Returns the number of tables matched.
    func restoreCounted(_ entry: CatalogEntry, _ dump: CheckedDump, into name: String, on server: DatabaseRestorer.Server,
                        restorer: DatabaseRestorer, like properties: DatabaseProperties?) async throws -> Int {
        let manifest = entry.manifest!
        try await restorer.createDatabase(name, on: server, like: properties)
        do {
            try await restorer.restore(dump, manifest: manifest, into: server.database(name), keepOwners: true, clean: false)
            let actual = try await restorer.rowCounts(of: server.database(name))
            let mismatches = DatabaseRestorer.compare(expected: manifest.rowCounts, actual: actual)
            guard mismatches.isEmpty else {
                throw FleetEngineError.verificationFailed(VenueError("restored rows differ from the manifest: "
                    + mismatches.map(\.description).joined(separator: ", ")))
            }
            if let properties { try await restorer.finish(name, like: properties, on: server) }
            return manifest.rowCounts.count
        } catch {
            await restorer.dropDatabase(name, on: server)
            throw error
        }
    }

    /// Renames the venue's database away (if any) and the staging copy into its place. Connections
    /// to the old database are terminated first; a rename that fails is put back.
    func swap(from replaced: String?, staging: String, into database: String, server: DatabaseRestorer.Server,
              restorer: DatabaseRestorer) async throws {
        let admin = try await restorer.connect(server.database("postgres"), step: "connect to the postgres database to rename")
        var renamedAway = false
        do {
            if let replaced {
                var attempt = 0
                while true {
                    attempt += 1
                    _ = try await admin.query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                        [database])
                    do {
                        try await admin.execute("ALTER DATABASE \(SQLQuoting.identifier(database)) RENAME TO \(SQLQuoting.identifier(replaced))")
                        renamedAway = true
                        break
                    } catch let error as PostgresError where error.sqlState == "55006" && attempt < 5 {
                        // 55006: a client reconnected between the terminate and the rename; try again.
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
            }
            try await admin.execute("ALTER DATABASE \(SQLQuoting.identifier(staging)) RENAME TO \(SQLQuoting.identifier(database))")
        } catch let error as PostgresError {
            if let replaced, renamedAway {
                let putBack = "ALTER DATABASE \(SQLQuoting.identifier(replaced)) RENAME TO \(SQLQuoting.identifier(database))"
                do {
                    try await admin.execute(putBack)
                } catch {
                    // The venue has no database under its name now: say exactly how to fix it.
                    throw FleetEngineError.refused("swap failed (\(error)) and the put-back failed too: \(database) is now named \(replaced); run: \(putBack); the restored copy is \(staging)")
                }
            }
            await restorer.dropDatabase(staging, on: server)
            throw FleetEngineError.database(step: "swap databases (the venue's database is unchanged)", error)
        }
    }

    /// `--in-place`: one transaction over the live database, then the counts. Returns the tables
    /// matched and those the dump does not know (pg_restore --clean leaves them as they were).
    func restoreInPlace(_ entry: CatalogEntry, _ dump: CheckedDump, venue: Venue, server: DatabaseRestorer.Server, restorer: DatabaseRestorer,
                        safety: BackupManifest) async throws -> (Int, [String]) {
        let manifest = entry.manifest!
        // A custom dump: pg_restore --clean drops what the archive holds. A plain one drops what it
        // holds itself (pg_dump --clean --if-exists). Either way schemas, their owners and grants,
        // and tables the backup does not know stay as they are.
        do {
            try await restorer.restore(dump, manifest: manifest, into: server.database(venue.database),
                                       keepOwners: true, clean: true)
        } catch FleetEngineError.refused(let error) {
            throw FleetEngineError.refused(error.adding("the safety backup is \(safety.file)"))
        }
        let actual = try await restorer.rowCounts(of: server.database(venue.database))
        let compared = DatabaseRestorer.compare(expected: manifest.rowCounts, actual: actual)
        let untouched = compared.filter { $0.expected == nil }.map(\.table)
        let mismatches = compared.filter { $0.expected != nil }
        guard mismatches.isEmpty else {
            throw FleetEngineError.verificationFailed(VenueError(step: "restore in place", "rows differ from the manifest ("
                + mismatches.map(\.table).joined(separator: ", ") + ")", hint: "the safety backup is \(safety.file)"))
        }
        return (manifest.rowCounts.count, untouched)
    }
}

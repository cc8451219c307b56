import FleetModel
import Foundation
import Logging
import PostgresClient

/// `gwi-fleet restore` on one venue. A checksum mismatch stops it before anything is touched;
/// replacing a venue's database goes through a safety backup and a fully restored and counted copy
/// before any name changes, so a failed restore leaves the venue exactly as it was.
public struct RestoreOperation: Sendable {
    /// Where the backup goes.
    public enum Target: Sendable, Equatable {
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

    public init(tools: PgTools, connector: VenueConnector = VenueConnector(), backupFile: String? = nil,
                target: Target = .replace, confirmed: Bool = false) {
        self.tools = tools
        self.connector = connector
        self.backupFile = backupFile
        self.target = target
        self.confirmed = confirmed
    }

    public func run(_ venue: Venue) async throws -> VenueFigures {
        let directory = try BackupOperation.prepareDirectory(of: venue)
        let lock = try await VenueLock.acquire(directory: directory)
        defer { withExtendedLifetime(lock) {} }

        let entry = try chooseBackup(of: venue)
        let manifest = entry.manifest!
        let stored = try await DigestTap.file(entry.path)
            let (bytes, sha256) = (stored.bytes, stored.sha256)
        guard bytes == manifest.bytes, sha256 == manifest.sha256 else {
            throw FleetEngineError.refused("checksum mismatch in \(entry.fileName) (\(bytes) bytes, SHA-256 \(sha256.prefix(12))…; manifest: \(manifest.bytes) bytes, \(manifest.sha256.prefix(12))…): nothing was touched")
        }
        let restorer = DatabaseRestorer(tools: tools, connector: connector)
        let server = DatabaseRestorer.Server(info: try connector.connectionInfo(for: venue, .direct))
        var fields: [(String, JSONValue)] = [("backup", .string(entry.path))]

        switch target {
        case .newDatabase(let name):
            guard try await !restorer.databaseExists(name, on: server) else {
                throw FleetEngineError.refused("database \(name) already exists; choose another --as name")
            }
            let matched = try await restoreCounted(entry, into: name, on: server, restorer: restorer)
            fields += [("database", .string(name)), ("tables_matched", .int(matched))]
            return VenueFigures(fields, summary: "restored \(entry.fileName) into new database \(name), \(matched) tables matched")

        case .replace, .inPlace:
            let exists = try await restorer.databaseExists(venue.database, on: server)
            var safety: BackupManifest?
            if exists {
                let rows = try await restorer.rowCounts(of: server.database(venue.database)).values.reduce(0, +)
                if rows > 0 && !confirmed {
                    throw FleetEngineError.refused("\(venue.database) holds \(rows) rows; pass --yes to replace it (a safety backup is taken first)")
                }
                safety = try await BackupOperation(tools: tools, connector: connector).backup(venue, lockHeld: true)
                fields.append(("safety_backup", .string(directory + "/" + safety!.file)))
            }
            if target == .inPlace {
                guard exists else { throw FleetEngineError.refused("\(venue.database) does not exist; --in-place needs it (use --as or the default replace)") }
                let (matched, untouched) = try await restoreInPlace(entry, venue: venue, server: server, restorer: restorer, safety: safety!)
                fields += [("database", .string(venue.database)), ("tables_matched", .int(matched)),
                           ("untouched_tables", .array(untouched.map(JSONValue.string))),
                           ("undo", .string("gwi-fleet restore \(venue.slug) --in-place --yes --backup \(directory)/\(safety!.file)"))]
                let note = untouched.isEmpty ? "" : "; tables not in the backup left as they were: " + untouched.joined(separator: ", ")
                return VenueFigures(fields, summary: "restored \(entry.fileName) in place, \(matched) tables matched; safety backup \(safety!.file)" + note)
            }
            RunContext.logger.info("restoring beside the live database", metadata: ["backup": .string(entry.fileName)])
            let stamp = Timestamp.compact(Date())
            let staging = String(venue.database.prefix(63 - 13 - stamp.count)) + "__restoring_" + stamp
            let matched = try await restoreCounted(entry, into: staging, on: server, restorer: restorer)
            guard exists else {
                try await swap(from: nil, staging: staging, into: venue.database, server: server, restorer: restorer)
                fields += [("database", .string(venue.database)), ("tables_matched", .int(matched))]
                return VenueFigures(fields, summary: "restored \(entry.fileName) into \(venue.database) (it did not exist), \(matched) tables matched")
            }
            let replaced = String(venue.database.prefix(63 - 11 - stamp.count)) + "__replaced_" + stamp
            try await swap(from: replaced, staging: staging, into: venue.database, server: server, restorer: restorer)
            let undo = "ALTER DATABASE \(SQLQuoting.identifier(venue.database)) RENAME TO \(SQLQuoting.identifier(staging)); "
                + "ALTER DATABASE \(SQLQuoting.identifier(replaced)) RENAME TO \(SQLQuoting.identifier(venue.database));"
            fields += [("database", .string(venue.database)), ("replaced_database", .string(replaced)),
                       ("tables_matched", .int(matched)), ("undo", .string(undo))]
            return VenueFigures(fields, summary: "restored \(entry.fileName), \(matched) tables matched; old database kept as \(replaced); to undo: \(undo)")
        }
    }

    func chooseBackup(of venue: Venue) throws -> CatalogEntry {
        let entries = BackupCatalog.entries(of: venue)
        if let backupFile {
            let absolute = URL(fileURLWithPath: backupFile).standardizedFileURL.path
            guard let entry = entries.first(where: { $0.path == absolute }) else {
                throw FleetEngineError.backupNotFound("\(backupFile) is not a backup in \(BackupCatalog.directory(of: venue))")
            }
            guard entry.manifest != nil else {
                throw FleetEngineError.refused("\(entry.fileName) is \(entry.state.rawValue) (\(entry.reason ?? "no manifest")): nothing was touched")
            }
            return entry
        }
        guard let entry = entries.first(where: \.isComplete) else {
            throw FleetEngineError.backupNotFound("no complete backup of \(venue.slug) in \(BackupCatalog.directory(of: venue))")
        }
        return entry
    }

    /// Creates `name`, restores into it and checks every table against the manifest; on any
    /// failure the new database is dropped again. Returns the number of tables matched.
    func restoreCounted(_ entry: CatalogEntry, into name: String, on server: DatabaseRestorer.Server,
                        restorer: DatabaseRestorer) async throws -> Int {
        let manifest = entry.manifest!
        try await restorer.createDatabase(name, on: server)
        do {
            try await restorer.restore(entry.path, format: manifest.format, into: server.database(name), keepOwners: true, clean: false)
            let actual = try await restorer.rowCounts(of: server.database(name))
            let mismatches = DatabaseRestorer.compare(expected: manifest.rowCounts, actual: actual)
            guard mismatches.isEmpty else {
                throw FleetEngineError.verificationFailed("restored rows differ from the manifest: "
                    + mismatches.map(\.description).joined(separator: ", "))
            }
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
                        break
                    } catch let error as PostgresError where error.sqlState == "55006" && attempt < 5 {
                        // 55006: a client reconnected between the terminate and the rename; try again.
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
            }
            do {
                try await admin.execute("ALTER DATABASE \(SQLQuoting.identifier(staging)) RENAME TO \(SQLQuoting.identifier(database))")
            } catch {
                if let replaced {
                    _ = try? await admin.execute("ALTER DATABASE \(SQLQuoting.identifier(replaced)) RENAME TO \(SQLQuoting.identifier(database))")
                }
                throw error
            }
        } catch let error as PostgresError {
            await restorer.dropDatabase(staging, on: server)
            throw FleetEngineError.database(step: "swap databases (the venue's database is unchanged)", error)
        }
    }

    /// `--in-place`: one transaction over the live database, then the counts. Returns the tables
    /// matched and those the dump does not know (pg_restore --clean leaves them as they were).
    func restoreInPlace(_ entry: CatalogEntry, venue: Venue, server: DatabaseRestorer.Server, restorer: DatabaseRestorer,
                        safety: BackupManifest) async throws -> (Int, [String]) {
        let manifest = entry.manifest!
        var clean = ""
        if manifest.format == .plain {
            // A plain dump has no DROP statements: empty the user schemas in the same transaction.
            let connection = try await restorer.connect(server.database(venue.database), step: "connect to list schemas")
            let schemas = try await connection.query("""
                SELECT nspname FROM pg_namespace
                WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
                """).rows.compactMap { $0[0] }
            clean = schemas.map { "DROP SCHEMA \(SQLQuoting.identifier($0)) CASCADE;" }.joined(separator: " ")
                + " CREATE SCHEMA IF NOT EXISTS public;"
        }
        try await restorer.restore(entry.path, format: manifest.format, into: server.database(venue.database),
                                   keepOwners: true, clean: true, cleanPlainSQL: clean)
        let actual = try await restorer.rowCounts(of: server.database(venue.database))
        let compared = DatabaseRestorer.compare(expected: manifest.rowCounts, actual: actual)
        let untouched = compared.filter { $0.expected == nil }.map(\.table)
        let mismatches = compared.filter { $0.expected != nil }
        guard mismatches.isEmpty else {
            throw FleetEngineError.verificationFailed("restored in place but rows differ from the manifest ("
                + mismatches.map(\.table).joined(separator: ", ") + "); the safety backup is \(safety.file)")
        }
        return (manifest.rowCounts.count, untouched)
    }
}

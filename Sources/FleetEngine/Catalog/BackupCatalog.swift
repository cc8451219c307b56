import FleetModel
import Foundation

/// One venue's backups in a store: dumps, manifests, verification and attempt records, leftovers.
/// Its local directory is read as it is now; any other store through a snapshot read once.
/// Nothing here touches the file system but through `CatalogFiles`.
public struct BackupCatalog: Sendable {
    let files: any CatalogFiles
    public let slug: String
    /// The venue's database, when known: a manifest naming another is foreign.
    var expectedDatabase: String?

    init(files: any CatalogFiles, slug: String, database: String? = nil) {
        self.files = files
        self.slug = slug
        self.expectedDatabase = database
    }

    /// A file's modification time on gwi-fleet's clock (`GWI_NOW` moves both alike).
    static func onTheClock(_ modified: Date) -> Date { modified.addingTimeInterval(WallClock.offset) }

    /// The catalog of a venue's files in any store, read once (listing with stored MD5s, manifests, records).
    public static func snapshot(of store: any BackupStore, slug: String) async throws -> BackupCatalog {
        BackupCatalog(files: try await CatalogSnapshot.load(store, slug: slug), slug: slug)
    }

    /// A venue's catalog on its remote, read once.
    public static func remote(_ policy: RemotePolicy, slug: String, environment: [String: String?] = [:]) async throws -> BackupCatalog {
        try await snapshot(of: RcloneRemote(url: policy.url, environment: environment), slug: slug)
    }

    /// The venue's catalog in its local backup directory.
    public init(venue: Venue) {
        self.init(files: LocalDirectoryStore(root: venue.backup.directory), slug: venue.slug, database: venue.database)
    }

    /// Where the catalog's files are (a directory or a remote URL).
    public var location: String { files.location }

    static let attemptName = ".last-attempt.json"

    /// Every backup of the venue, newest first. `now` decides which are dated in the future.
    public func entries(now: Date = WallClock.now()) -> [CatalogEntry] {
        let listing = (try? files.listFiles(slug)) ?? []
        let byName = Dictionary(listing.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var result: [CatalogEntry] = []
        var manifestsSeen: Set<String> = []
        for file in listing {
            let path = files.filePath(slug, file.name)
            if file.name.hasPrefix(".") && file.name.hasSuffix(".partial") {
                result.append(CatalogEntry(path: path, state: .incomplete, reason: "leftover temporary file of an interrupted run",
                                           date: Self.onTheClock(file.modified), bytes: file.bytes))
                continue
            }
            guard !file.name.hasPrefix("."), let stem = Self.dumpStem(file.name) else { continue }
            let manifestName = stem + ".manifest.json"
            manifestsSeen.insert(manifestName)
            var entry = CatalogEntry(path: path, manifestPath: files.filePath(slug, manifestName), state: .incomplete,
                                     date: Self.onTheClock(file.modified), bytes: file.bytes)
            guard byName[manifestName] != nil, let data = try? files.readFile(slug, manifestName) else {
                entry.reason = "no manifest (the backup never finished)"
                entry.manifestPath = nil
                result.append(entry)
                continue
            }
            guard let manifest = try? BackupManifest.decode(data) else {
                entry.reason = "manifest does not parse"
                result.append(entry)
                continue
            }
            entry.manifest = manifest
            entry.date = manifest.startedAt
            // A backup of another venue (copied or uploaded under this one) is never this venue's:
            // not listed as a restore point, not verified, restored or counted for it.
            guard manifest.venue == slug, expectedDatabase.map({ $0 == manifest.database }) ?? true else {
                entry.state = .incomplete
                entry.manifest = nil
                entry.reason = "foreign: the manifest names venue \(manifest.venue) (database \(manifest.database)), not \(slug); never used for this venue, inspect by hand"
                result.append(entry)
                continue
            }
            entry.inTheFuture = manifest.startedAt.timeIntervalSince(now) > CatalogEntry.clockTolerance
            if entry.bytes != manifest.bytes {
                entry.state = .corrupt
                entry.reason = "file has \(entry.bytes) bytes, manifest says \(manifest.bytes)"
            } else if let stored = file.md5, let expected = manifest.md5, stored != expected {
                entry.state = .corrupt
                entry.reason = "stored MD5 \(stored.prefix(12))… differs from the manifest's \(expected.prefix(12))…"
            } else {
                entry.state = .complete
                if let record = verification(ofDump: file.name), record.sha256 == manifest.sha256 {
                    entry.verification = record
                    if record.ok {
                        entry.state = .verified
                    } else {
                        entry.state = .corrupt
                        entry.reason = record.error ?? (record.checksumOK ? "restore did not match the manifest" : "checksum mismatch")
                    }
                }
            }
            result.append(entry)
        }
        for file in listing where file.name.hasSuffix(".manifest.json") && !file.name.hasPrefix(".") && !manifestsSeen.contains(file.name) {
            let path = files.filePath(slug, file.name)
            result.append(CatalogEntry(path: path, manifestPath: path, state: .incomplete, reason: "dump file missing",
                                       date: Self.onTheClock(file.modified), bytes: 0))
        }
        return result.sorted { ($0.date, $0.path) > ($1.date, $1.path) }
    }

    /// The newest restore point: complete or verified, not a safety backup, not from the future.
    public func latestRestorePoint(now: Date = WallClock.now()) -> CatalogEntry? { entries(now: now).latestRestorePoint }

    /// Every complete backup re-hashed against its manifest (`backups --check`): one whose bytes
    /// changed is recorded corrupt, so every later command sees it. Returns the entries after.
    public func recheck(now: Date = WallClock.now()) async throws -> [CatalogEntry] {
        var entries = self.entries(now: now)
        for index in entries.indices where entries[index].isComplete {
            guard let manifest = entries[index].manifest else { continue }
            let digest = try await DigestTap.file(entries[index].path)
            guard digest.bytes != manifest.bytes || digest.sha256 != manifest.sha256 else { continue }
            let reason = "checksum mismatch found by backups --check at \(Timestamp.iso8601(now)): SHA-256 \(digest.sha256.prefix(12))…, manifest says \(manifest.sha256.prefix(12))…"
            try record(VerificationRecord(verifiedAt: now, sha256: manifest.sha256, checksumOK: false, restoreOK: false,
                                          tablesMatched: 0, tables: manifest.rowCounts.count, mismatches: [], error: reason),
                       ofDump: entries[index].fileName)
            entries[index].state = .corrupt
            entries[index].reason = reason
        }
        return entries
    }

    /// `x.dump` → `x`, `x.sql.gz` → `x`, `x.dump.zst.age` → `x`; nil for anything that is not a dump.
    static func dumpStem(_ name: String) -> String? {
        var rest = Substring(name)
        if rest.hasSuffix(".age") { rest = rest.dropLast(4) }
        for suffix in [".zst", ".gz"] where rest.hasSuffix(suffix) { rest = rest.dropLast(suffix.count) }
        for suffix in [".dump", ".sql"] where rest.hasSuffix(suffix) { return String(rest.dropLast(suffix.count)) }
        return nil
    }

    // MARK: - Records

    public func verification(ofDump name: String) -> VerificationRecord? {
        guard let stem = Self.dumpStem(name), let data = try? files.readFile(slug, stem + ".verify.json") else { return nil }
        return try? Self.decoder.decode(VerificationRecord.self, from: data)
    }

    func record(_ verification: VerificationRecord, ofDump name: String) throws {
        guard let stem = Self.dumpStem(name) else { return }
        try files.writeFile(Data(JSONCoding.text(verification).utf8), slug, stem + ".verify.json")
    }

    /// The venue's last attempt; a record that exists but cannot be read is no evidence of a good
    /// night, so it reads as a failed attempt (prune then deletes nothing).
    public func lastAttempt() -> AttemptRecord? {
        if let data = try? files.readFile(slug, Self.attemptName), let attempt = try? Self.decoder.decode(AttemptRecord.self, from: data) {
            return attempt
        }
        let path = files.filePath(slug, Self.attemptName)
        guard files is LocalDirectoryStore, FileManager.default.fileExists(atPath: path) else { return nil }
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        return AttemptRecord(status: .failed, at: modified ?? .distantPast, error: "the attempt record \(path) cannot be read")
    }

    /// Saves the attempt record. On a full disk the new file beside the old one cannot be written;
    /// the old record's own block still takes the new one, overwritten in place (a torn record
    /// reads as a failed attempt, never as a good one).
    func recordAttempt(_ attempt: AttemptRecord) throws {
        do {
            try files.writeFile(Data(JSONCoding.text(attempt).utf8), slug, Self.attemptName)
        } catch {
            var small = attempt
            small.error = attempt.error.map { String($0.prefix(1_000)) }
            guard files is LocalDirectoryStore,
                  (try? DurableFile.overwriteInPlace(Data(JSONCoding.text(small).utf8), at: files.filePath(slug, Self.attemptName))) != nil
            else { throw error }
        }
    }

    /// Deletes a backup: manifest first (it stops counting), then the dump, then its record.
    func delete(_ entry: CatalogEntry) throws {
        let name = entry.fileName
        guard let stem = Self.dumpStem(name) else { return try files.deleteFile(slug, name) }
        for file in [stem + ".manifest.json", name, stem + ".verify.json"] { try files.deleteFile(slug, file) }
    }

    // MARK: - Conveniences by venue and by path (the local directory store)

    /// Adds the off-site result to the venue's attempt record (what `status` reads).
    static func noteOffsite(_ venue: Venue, verified: Bool) {
        let catalog = BackupCatalog(venue: venue)
        guard var attempt = catalog.lastAttempt() else { return }
        attempt.offsite = verified ? "verified" : "failed"
        if verified { attempt.offsiteVerifiedAt = WallClock.now() }
        try? catalog.recordAttempt(attempt)
    }

    /// Makes the venue's backup directory (0700) if missing; returns its path.
    static func prepareDirectory(of venue: Venue) throws -> String {
        try LocalDirectoryStore(root: venue.backup.directory).prepare(venue.slug)
    }

    public static func directory(of venue: Venue) -> String { venue.backup.directory + "/" + venue.slug }

    /// Every backup of the venue, newest first.
    public static func entries(of venue: Venue) -> [CatalogEntry] { BackupCatalog(venue: venue).entries() }

    /// The catalog of a venue directory `<root>/<slug>`.
    public static func entries(in directory: String) -> [CatalogEntry] { catalog(containing: directory + "/x").entries() }

    public static func latestRestorePoint(of venue: Venue) -> CatalogEntry? { BackupCatalog(venue: venue).latestRestorePoint() }

    public static func lastAttempt(of venue: Venue) -> AttemptRecord? { BackupCatalog(venue: venue).lastAttempt() }

    static func recordAttempt(_ attempt: AttemptRecord, of venue: Venue) throws {
        try BackupCatalog(venue: venue).recordAttempt(attempt)
    }

    public static func verification(forDump path: String) -> VerificationRecord? {
        catalog(containing: path).verification(ofDump: URL(fileURLWithPath: path).lastPathComponent)
    }

    static func record(_ verification: VerificationRecord, forDump path: String) throws {
        try catalog(containing: path).record(verification, ofDump: URL(fileURLWithPath: path).lastPathComponent)
    }

    static func verificationPath(forDump path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent((dumpStem(url.lastPathComponent) ?? url.deletingPathExtension().lastPathComponent) + ".verify.json").path
    }

    /// The catalog whose venue directory holds `path`.
    static func catalog(containing path: String) -> BackupCatalog {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        return BackupCatalog(files: LocalDirectoryStore(root: directory.deletingLastPathComponent().path),
                             slug: directory.lastPathComponent)
    }

    /// A venue's backups as `backups --json` lists them.
    public static func listing(of venue: Venue, entries: [CatalogEntry], now: Date) -> Listing {
        Listing(slug: venue.slug, database: venue.database, directory: directory(of: venue), lastAttempt: lastAttempt(of: venue),
                backups: entries.map { Listing.Backup($0, now: now) })
    }

    /// One venue in `backups --json`.
    public struct Listing: Sendable, Encodable {
        public struct Backup: Sendable, Encodable {
            var file: String
            var time: Date
            var ageSeconds: Int
            var bytes: Int
            var format: BackupFormat?
            var state: BackupState
            var purpose: BackupPurpose?
            var inTheFuture: Bool
            var verifiedAt: Date?
            var reason: String?

            init(_ entry: CatalogEntry, now: Date) {
                file = entry.path
                time = entry.date
                ageSeconds = Int(now.timeIntervalSince(entry.date))
                bytes = entry.bytes
                format = entry.manifest?.format
                state = entry.state
                purpose = entry.manifest?.effectivePurpose
                inTheFuture = entry.inTheFuture
                verifiedAt = entry.verification?.verifiedAt
                reason = entry.reason
            }

            enum CodingKeys: String, CodingKey {
                case file, time, ageSeconds = "age_seconds", bytes, format, state, purpose, inTheFuture = "in_the_future"
                case verifiedAt = "verified_at", reason
            }

            public func encode(to encoder: Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(file, forKey: .file)
                try container.encode(time, forKey: .time)
                try container.encode(ageSeconds, forKey: .ageSeconds)
                try container.encode(bytes, forKey: .bytes)
                try container.encode(format, forKey: .format)
                try container.encode(state, forKey: .state)
                try container.encode(purpose, forKey: .purpose)
                try container.encode(inTheFuture, forKey: .inTheFuture)
                try container.encode(verifiedAt, forKey: .verifiedAt)
                try container.encode(reason, forKey: .reason)
            }
        }

        var slug: String
        var database: String
        var directory: String
        var lastAttempt: AttemptRecord?
        var backups: [Backup]

        enum CodingKeys: String, CodingKey { case slug, database, directory, lastAttempt = "last_attempt", backups }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(slug, forKey: .slug)
            try container.encode(database, forKey: .database)
            try container.encode(directory, forKey: .directory)
            try container.encode(lastAttempt, forKey: .lastAttempt)
            try container.encode(backups, forKey: .backups)
        }
    }

    /// The venue a backup file belongs to: the directory it sits in, `<backup dir>/<slug>/<file>`.
    public static func venueSlug(ofBackupFile path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
    }

    /// Records and manifests are written and read in the one JSON dialect.
    static var encoder: JSONEncoder { JSONCoding.encoder }
    static var decoder: JSONDecoder { JSONCoding.decoder }
}

import FleetModel
import Foundation

/// What a backup on disk is worth.
public enum BackupState: String, Sendable, Codable {
    /// Dump and manifest agree on size; never restore-tested (or not since it last changed).
    case complete
    /// Restored into a scratch database and every table matched the manifest.
    case verified
    /// Checksum or size differs from the manifest, or its restore did not match.
    case corrupt
    /// No manifest, a manifest that does not parse, a missing dump, or a leftover temporary file.
    case incomplete
}

/// The outcome of restore-testing one backup, saved beside it as `<stem>.verify.json`.
public struct VerificationRecord: Codable, Sendable, Equatable {
    /// One table whose rows after the restore differ from the manifest (nil: the table is missing).
    public struct Mismatch: Codable, Sendable, Equatable, CustomStringConvertible {
        public var table: String
        public var expected: Int?
        public var actual: Int?

        /// `public.Order expected 4000, got 3999`
        public var description: String {
            "\(table) expected \(expected.map(String.init) ?? "missing"), got \(actual.map(String.init) ?? "missing")"
        }
    }

    public var verifiedAt: Date
    /// The manifest's SHA-256 at the time of the check, so a replaced backup is not taken as verified.
    public var sha256: String
    public var checksumOK: Bool
    public var restoreOK: Bool
    public var tablesMatched: Int
    public var tables: Int
    public var mismatches: [Mismatch]
    public var error: String?
    public var ok: Bool { checksumOK && restoreOK && mismatches.isEmpty && error == nil }

    enum CodingKeys: String, CodingKey {
        case verifiedAt = "verified_at", sha256, checksumOK = "checksum_ok", restoreOK = "restore_ok"
        case tablesMatched = "tables_matched", tables, mismatches, error
    }
}

/// The last backup attempt on a venue (`.last-attempt.json`), so `prune` can refuse to delete
/// anything while the newest attempt failed.
public struct AttemptRecord: Codable, Sendable, Equatable {
    public var status: VenueStatus
    public var at: Date
    public var error: String?
}

/// One backup (or leftover) in a venue's directory.
public struct CatalogEntry: Sendable {
    /// The dump file, or the temporary file / manifest when that is all there is.
    public var path: String
    public var manifestPath: String?
    public var manifest: BackupManifest?
    public var verification: VerificationRecord?
    public var state: BackupState
    /// Why the state is corrupt or incomplete.
    public var reason: String?
    /// When the backup started (from the manifest), else the file's modification time.
    public var date: Date
    public var bytes: Int

    public var isComplete: Bool { state == .complete || state == .verified }
    public var fileName: String { URL(fileURLWithPath: path).lastPathComponent }
}

/// Reads and writes the files of `<backup dir>/<slug>/`: dumps, manifests, verification and
/// attempt records, leftovers.
public enum BackupCatalog {
    public static func directory(of venue: Venue) -> String { venue.backup.directory + "/" + venue.slug }

    /// Every backup of the venue, newest first.
    public static func entries(of venue: Venue) -> [CatalogEntry] {
        entries(in: directory(of: venue))
    }

    public static func entries(in directory: String) -> [CatalogEntry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var result: [CatalogEntry] = []
        var manifestsSeen: Set<String> = []
        for name in names {
            let path = directory + "/" + name
            if name.hasPrefix(".") && name.hasSuffix(".partial") {
                result.append(CatalogEntry(path: path, state: .incomplete, reason: "leftover temporary file of an interrupted run",
                                           date: modified(path), bytes: size(path)))
                continue
            }
            guard !name.hasPrefix("."), name.hasSuffix(".dump") || name.hasSuffix(".sql") else { continue }
            let manifestPath = BackupManifest.path(forDump: path)
            manifestsSeen.insert(manifestPath)
            var entry = CatalogEntry(path: path, manifestPath: manifestPath, state: .incomplete, date: modified(path), bytes: size(path))
            guard let data = FileManager.default.contents(atPath: manifestPath) else {
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
            if entry.bytes != manifest.bytes {
                entry.state = .corrupt
                entry.reason = "file has \(entry.bytes) bytes, manifest says \(manifest.bytes)"
            } else {
                entry.state = .complete
                if let record = verification(forDump: path), record.sha256 == manifest.sha256 {
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
        for name in names where name.hasSuffix(".manifest.json") && !name.hasPrefix(".") {
            let path = directory + "/" + name
            guard !manifestsSeen.contains(path) else { continue }
            result.append(CatalogEntry(path: path, manifestPath: path, state: .incomplete, reason: "dump file missing",
                                       date: modified(path), bytes: 0))
        }
        return result.sorted { ($0.date, $0.path) > ($1.date, $1.path) }
    }

    /// A venue's backups as `backups --json` lists them.
    public static func listing(of venue: Venue, entries: [CatalogEntry], now: Date) -> JSONValue {
        .object([
            ("slug", .string(venue.slug)), ("database", .string(venue.database)),
            ("directory", .string(directory(of: venue))),
            ("backups", .array(entries.map { entry in
                .object([
                    ("file", .string(entry.path)),
                    ("time", .string(Timestamp.iso8601(entry.date))),
                    ("age_seconds", .int(Int(now.timeIntervalSince(entry.date)))),
                    ("bytes", .int(entry.bytes)),
                    ("format", entry.manifest.map { .string($0.format.rawValue) } ?? .null),
                    ("state", .string(entry.state.rawValue)),
                    ("verified_at", entry.verification.map { .string(Timestamp.iso8601($0.verifiedAt)) } ?? .null),
                    ("reason", entry.reason.map(JSONValue.string) ?? .null),
                ])
            })),
        ])
    }

    /// The venue a backup file belongs to: the directory it sits in, `<backup dir>/<slug>/<file>`.
    public static func venueSlug(ofBackupFile path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
    }

    /// The newest backup that is complete or verified.
    public static func latestComplete(of venue: Venue) -> CatalogEntry? {
        entries(of: venue).first { $0.isComplete }
    }

    // MARK: - Records

    static func verificationPath(forDump path: String) -> String {
        URL(fileURLWithPath: path).deletingPathExtension().path + ".verify.json"
    }

    public static func verification(forDump path: String) -> VerificationRecord? {
        guard let data = FileManager.default.contents(atPath: verificationPath(forDump: path)) else { return nil }
        return try? decoder.decode(VerificationRecord.self, from: data)
    }

    static func record(_ verification: VerificationRecord, forDump path: String) throws {
        try DurableFile.write(try encoder.encode(verification), to: verificationPath(forDump: path))
    }

    public static func lastAttempt(of venue: Venue) -> AttemptRecord? {
        guard let data = FileManager.default.contents(atPath: directory(of: venue) + "/.last-attempt.json") else { return nil }
        return try? decoder.decode(AttemptRecord.self, from: data)
    }

    static func recordAttempt(_ attempt: AttemptRecord, of venue: Venue) {
        try? DurableFile.write(try encoder.encode(attempt), to: directory(of: venue) + "/.last-attempt.json")
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.iso8601(date))
        }
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad date \(text)"))
            }
            return date
        }
        return decoder
    }()

    private static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    private static func modified(_ path: String) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
    }
}

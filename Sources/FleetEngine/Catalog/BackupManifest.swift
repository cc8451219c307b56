import FleetModel
import Foundation

/// Why a backup was taken. "Latest" means the newest `scheduled` or `pre-exec` one: a `safety`
/// backup (taken just before a restore or rollback replaces the database) holds the state being
/// thrown away, often a half-migrated one.
public enum BackupPurpose: String, Codable, Sendable {
    case scheduled
    case preExec = "pre-exec"
    case safety
    /// The database as it was at a moment, made by `restore --at` from archived WAL: what the
    /// restore that follows restores, never a restore point of its own.
    case pitr

    /// Whether taking it records the venue's attempt (`.last-attempt.json`).
    var recordsAttempt: Bool { self == .scheduled || self == .preExec }
}

/// Written last, beside its dump: a backup counts only once this file exists. The row counts
/// were taken inside the same snapshot pg_dump used, so a restore must reproduce them exactly.
public struct BackupManifest: Codable, Sendable, Equatable {
    public var venue: String
    public var database: String
    /// The dump's file name, in the same directory as the manifest.
    public var file: String
    public var format: BackupFormat
    public var bytes: Int
    public var sha256: String
    public var startedAt: Date
    public var finishedAt: Date
    public var serverVersion: String
    public var pgDumpVersion: String
    public var snapshot: String
    /// `{"public.Order": 4000, …}`: exact counts of every user table at the dump's snapshot.
    public var rowCounts: [String: Int]
    public var tool: String
    /// Why the backup was taken; nil in manifests written before purposes (read as scheduled).
    public var purpose: BackupPurpose?
    /// A plain dump written with `--clean --if-exists`: it drops what it holds before creating it,
    /// so it can be restored in place. Nil (false) in older plain dumps.
    public var dropsFirst: Bool?
    /// `zstd:3`, `gzip:6`, `none`; nil in manifests from before compression stages (pg_dump's own).
    public var compression: String?
    /// Who can decrypt the stored file (recipient fingerprints, never a key); nil: not encrypted.
    public var encryption: Encryption?
    /// SHA-256 of pg_dump's own output, before compression and encryption.
    public var dumpSHA256: String?
    /// MD5 of the stored file: what S3 and others can check without downloading it.
    public var md5: String?
    /// A `pitr` backup: the moment asked for and the last commit the recovery replayed.
    public var pitr: PITR?

    /// What a point-in-time backup is a picture of.
    public struct PITR: Codable, Sendable, Equatable {
        public var provider: String
        public var target: Date
        /// The last replayed commit's time: the database holds every commit up to this moment.
        public var recoveredTo: Date
        /// The base backup the recovery started from (pgBackRest's label).
        public var baseBackup: String?
        /// Neon: the branch made at the target (deleted once dumped).
        public var branch: String?

        public init(provider: String, target: Date, recoveredTo: Date, baseBackup: String?, branch: String? = nil) {
            self.provider = provider
            self.target = target
            self.recoveredTo = recoveredTo
            self.baseBackup = baseBackup
            self.branch = branch
        }

        enum CodingKeys: String, CodingKey { case provider, target, branch, recoveredTo = "recovered_to", baseBackup = "base_backup" }
    }

    /// `{"tool": "age", "recipients": ["sha256:…"]}`
    public struct Encryption: Codable, Sendable, Equatable {
        public var tool: String
        public var recipients: [String]
    }

    enum CodingKeys: String, CodingKey {
        case venue, database, file, format, bytes, sha256, snapshot, tool, purpose, compression, encryption, md5, pitr
        case startedAt = "started_at", finishedAt = "finished_at", serverVersion = "server_version"
        case pgDumpVersion = "pg_dump_version", rowCounts = "row_counts", dropsFirst = "drops_first", dumpSHA256 = "dump_sha256"
    }

    public init(venue: String, database: String, file: String, format: BackupFormat, bytes: Int, sha256: String,
                startedAt: Date, finishedAt: Date, serverVersion: String, pgDumpVersion: String, snapshot: String,
                rowCounts: [String: Int], tool: String, purpose: BackupPurpose? = .scheduled, dropsFirst: Bool? = nil) {
        self.venue = venue
        self.database = database
        self.file = file
        self.format = format
        self.bytes = bytes
        self.sha256 = sha256
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.serverVersion = serverVersion
        self.pgDumpVersion = pgDumpVersion
        self.snapshot = snapshot
        self.rowCounts = rowCounts
        self.tool = tool
        self.purpose = purpose
        self.dropsFirst = dropsFirst
    }

    /// The purpose, with older manifests read as scheduled.
    public var effectivePurpose: BackupPurpose { purpose ?? .scheduled }

    /// `x.dump` → `x.manifest.json`
    public static func name(forDump name: String) -> String {
        (BackupCatalog.dumpStem(name) ?? name) + ".manifest.json"
    }

    /// `/dir/x.dump` → `/dir/x.manifest.json`
    public static func path(forDump dumpPath: String) -> String {
        let url = URL(fileURLWithPath: dumpPath)
        return url.deletingLastPathComponent().appendingPathComponent(name(forDump: url.lastPathComponent)).path
    }

    public func encoded() throws -> Data {
        Data(JSONCoding.text(self).utf8)
    }

    public static func decode(_ data: Data) throws -> BackupManifest {
        try BackupCatalog.decoder.decode(BackupManifest.self, from: data)
    }
}

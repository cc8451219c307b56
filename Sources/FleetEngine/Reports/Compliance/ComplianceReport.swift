import Crypto
import Foundation

/// `gwi-fleet compliance`: per venue and per day, proof that backups were taken, restore-tested,
/// kept off-site and encrypted, and that retention was respected, judged against `policy:`.
/// The typed model every format renders from (JSON is this, encoded).
public struct ComplianceReport: Codable, Sendable {
    public static let schemaVersion = 2

    /// What one UTC day of one venue holds, best first: a backup restore-tested, complete, only
    /// failed ones (corrupt, incomplete, lost, or an attempt that failed), none; or a day before
    /// the venue was monitored (before its first backup or attempt), which is not judged.
    public enum DayState: String, Codable, Sendable, CaseIterable {
        case verified, complete, failed, missing
        case notInScope = "not-in-scope"
    }

    /// The reasons a venue breaks the policy, most serious first.
    public enum ReasonCode: String, Codable, Sendable, CaseIterable {
        case noBackup = "no-backup"
        case recoveryPoint = "recovery-point"
        case lastAttemptFailed = "last-attempt-failed"
        case corruptLatest = "corrupt-latest"
        case unverified
        case notOffsite = "not-offsite"
        case unencrypted
        case retention
        case catalogUnreadable = "catalog-unreadable"
    }

    public struct Reason: Codable, Sendable, Equatable {
        public var code: ReasonCode
        public var text: String
    }

    public struct Period: Codable, Sendable, Equatable {
        public var since: Date
        public var until: Date
        /// `2026-11-26`, oldest first.
        public var days: [String]
    }

    public struct Policy: Codable, Sendable, Equatable {
        public var maxBackupAge: String
        public var maxVerifyAge: String
        public var requireOffsite: Bool
    }

    public struct FleetIdentity: Codable, Sendable, Equatable {
        public var path: String
        /// SHA-256 of the fleet file's bytes: which configuration was checked.
        public var fileSha256: String
        /// SHA-256 of the venues it resolved to (as in every run report).
        public var venuesSha256: String
    }

    /// One day of the whole fleet: the bytes of the backups taken that day and how long they took.
    public struct FleetDay: Codable, Sendable, Equatable {
        public var day: String
        public var backups: Int
        public var bytes: Int
        /// The longest and the mean backup duration that day (nil: none recorded).
        public var longestSeconds: Double?
        public var meanSeconds: Double?
    }

    public struct ReasonCount: Codable, Sendable, Equatable {
        public var reason: ReasonCode
        public var venues: [String]
    }

    public struct Summary: Codable, Sendable, Equatable {
        public var venues: Int
        public var compliant: Int
        public var notCompliant: Int
        public var disabled: Int
        public var byReason: [ReasonCount]
        /// The days of the period enabled venues were monitored (not-in-scope days left out), and
        /// how many of those held a complete backup.
        public var venueDays: Int
        public var coveredVenueDays: Int
        public var coverage: Double
        /// Bytes of every backup file in the catalogs now (any date).
        public var storedBytes: Int
        /// Bytes of the backups taken in the period.
        public var periodBytes: Int
        /// Mean bytes per backup-day over the period's last seven days with backups against its
        /// first seven, in percent; nil with fewer than two such days.
        public var bytesTrendPercent: Double?
        public var daily: [FleetDay]
    }

    public struct Day: Codable, Sendable, Equatable {
        public var day: String
        public var state: DayState
        /// A complete backup of the day is off-site; nil where the venue has no remote.
        public var offsite: Bool?
        /// Every complete backup of the day is encrypted; nil without one.
        public var encrypted: Bool?
        public var backups: Int
        public var failedAttempts: Int
    }

    /// What a backup of the period is worth: the catalog's states, and two for a backup the
    /// saved reports say was taken that is gone.
    public enum BackupState: String, Codable, Sendable {
        case complete, verified, corrupt, incomplete
        /// Deleted by prune, by policy: it was a restore point on its day.
        case pruned
        /// Reported taken, gone, and no prune deleted it.
        case lost

        init(_ state: FleetEngine.BackupState) {
            switch state {
            case .complete: self = .complete
            case .verified: self = .verified
            case .corrupt: self = .corrupt
            case .incomplete: self = .incomplete
            }
        }

        /// Complete when taken (and, if pruned since, by policy).
        public var wasComplete: Bool { self == .complete || self == .verified || self == .pruned }
        /// Taken, but not usable: it makes its day `failed` when nothing better is there.
        public var isBad: Bool { self == .corrupt || self == .incomplete || self == .lost }
    }

    /// Judged against the policy, or left out.
    public enum Verdict: String, Codable, Sendable {
        case compliant, notCompliant = "not-compliant", disabled
    }

    /// One backup of the period (or one the period's reports mention that is gone).
    public struct Backup: Codable, Sendable, Equatable {
        public var state: BackupState
        public var file: String
        public var startedAt: Date
        public var durationSeconds: Double?
        public var bytes: Int
        public var purpose: String?
        public var encrypted: Bool?
        public var offsite: Bool?
        public var verifiedAt: Date?
        public var tablesMatched: Int?
        public var tables: Int?
        /// Tables whose restored rows differed (`public.Order expected 4000, got 3999`).
        public var mismatches: [String]
        public var reason: String?

        /// What a restore could start from: complete when taken, and not a safety backup (which
        /// holds the state a restore threw away).
        public var isRestorePoint: Bool {
            CatalogEntry.isRestorePoint(complete: state.wasComplete, purpose: purpose.flatMap { BackupPurpose(rawValue: $0) }, inTheFuture: false)
        }
    }

    public struct Gap: Codable, Sendable, Equatable {
        public var from: Date
        public var to: Date
        public var seconds: Double
    }

    /// The recovery point objective a venue achieved: the most that could have been lost at the
    /// worst moment of the period.
    public struct RecoveryPoint: Codable, Sendable, Equatable {
        /// What the newest restorable moment was then.
        public enum Source: String, Codable, Sendable {
            /// The WAL archive, as the last `check` before it read the window: PITR held.
            case archive
            /// A backup (a restore point): PITR did not hold, or reached no further.
            case backup
            /// Nothing before the period: counted from its start, as the longest gap is.
            case periodStart = "period-start"
        }

        public var seconds: Double
        /// The worst moment: just before a newer backup or check, or the period's end.
        public var at: Date
        /// The newest moment that could have been restored then.
        public var restorableTo: Date
        public var source: Source
    }

    public struct Retention: Codable, Sendable, Equatable {
        public var keepDays: Int
        public var keepMin: Int
        /// Files prune would delete now, with why (kept past policy, and nothing holds them).
        public var keptPastPolicy: [String]
        /// Backups reported taken, within what retention keeps, that are gone without prune.
        public var missing: [String]
        public var ok: Bool
    }

    public struct Venue: Codable, Sendable, Equatable {
        public var slug: String
        public var database: String
        public var enabled: Bool
        /// The venue's first backup or backup attempt (catalog or saved reports); the days before
        /// it are not in scope. Nil: none ever, the whole period is judged.
        public var monitoredSince: Date?
        public var verdict: Verdict
        public var reasons: [Reason]
        public var days: [Day]
        public var coveredDays: Int
        public var latestBackupAt: Date?
        /// The longest time without a complete backup in the period.
        public var longestGap: Gap?
        /// The achieved recovery point: the archive's lag where PITR held, the backup gap otherwise.
        public var recoveryPoint: RecoveryPoint?
        public var latestVerifiedAt: Date?
        /// At the period's end; nil: never restore-tested.
        public var verifyAgeSeconds: Double?
        /// Nil where the venue has no remote.
        public var offsiteRequired: Bool?
        public var longestOffsiteGap: Gap?
        public var encryptionRequired: Bool
        public var retention: Retention
        public var failedAttempts: [BackupHistory.FailedAttempt]
        public var backups: [Backup]
        public var storedBytes: Int

        public var isCompliant: Bool { verdict == .compliant }
        /// The days of the period the venue was monitored.
        public var daysInScope: Int { days.filter { $0.state != .notInScope }.count }
    }

    /// Who made the report, how, with what: the page's provenance (nil in reports of schema 1).
    public struct Provenance: Codable, Sendable, Equatable {
        /// `gwi-fleet 0.6.0 (report schema 3)`.
        public var version: String
        public var host: String
        public var user: String
        /// The command line, secrets replaced by `***`.
        public var commandLine: [String]

        public init(version: String, host: String, user: String, commandLine: [String]) {
            self.version = version
            self.host = host
            self.user = user
            self.commandLine = commandLine
        }
    }

    public var schemaVersion = ComplianceReport.schemaVersion
    public var generatedAt: Date
    public var provenance: Provenance?
    /// `local` (the backup directories) or `remote` (each venue's backup.remote).
    public var source: String
    public var period: Period
    public var policy: Policy
    public var fleet: FleetIdentity
    public var summary: Summary
    /// Worst first: not compliant before compliant, lowest coverage first.
    public var venues: [Venue]

    /// 0 when every enabled venue is compliant, 1 otherwise.
    public var exitCode: Int32 { summary.notCompliant == 0 ? ExitCodes.ok : ExitCodes.venueFailed }

    public func encoded() throws -> Data {
        try Self.encoder.encode(self) + Data("\n".utf8)
    }

    public static func decode(_ data: Data) throws -> ComplianceReport {
        try decoder.decode(ComplianceReport.self, from: data)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = BackupCatalog.encoder.dateEncodingStrategy
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = BackupCatalog.decoder.dateDecodingStrategy
        return decoder
    }()
}

/// The formats `compliance` writes.
public enum ComplianceFormat: String, Sendable, CaseIterable {
    case html, markdown, csv, json

    /// `page.html` → html, `x.md` → markdown, `x.csv`, `x.json`; nil for anything else.
    public init?(fileName: String) {
        switch URL(fileURLWithPath: fileName).pathExtension.lowercased() {
        case "html", "htm": self = .html
        case "md", "markdown": self = .markdown
        case "csv": self = .csv
        case "json": self = .json
        default: return nil
        }
    }
}

extension ComplianceReport {
    public func rendered(as format: ComplianceFormat) throws -> String {
        switch format {
        case .html: try ComplianceHTML.render(self)
        case .markdown: ComplianceText.markdown(self)
        case .csv: ComplianceText.csv(self)
        case .json: String(decoding: try encoded(), as: UTF8.self)
        }
    }

    /// Writes a rendering durably (temporary name, fsync, rename): an interrupted run never
    /// leaves a half page under the final name. The directory is created when missing.
    public static func save(_ text: String, to path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try DurableFile.write(Data(text.utf8), to: path)
    }

    /// SHA-256 of a file's bytes (the fleet file), hex.
    public static func sha256(ofFile path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "unreadable" }
        return Digester.hex(SHA256.hash(data: data))
    }
}

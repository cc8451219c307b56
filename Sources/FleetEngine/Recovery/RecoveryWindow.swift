import Foundation

/// The moments a database on a pgBackRest-archived server can be recovered to: from the end of
/// the oldest backup in the stanza (to pgBackRest's second) to the newest WAL the source has archived.
public struct RecoveryWindow: Codable, Sendable, Equatable {
    /// One backup set in the stanza, as `pgbackrest info` lists it.
    public struct Backup: Codable, Sendable, Equatable {
        /// `20261202-030630F`
        public var label: String
        /// `full`, `diff` or `incr`.
        public var type: String
        public var startedAt: Date
        /// The earliest moment a recovery from this backup can reach.
        public var stoppedAt: Date
        /// pgBackRest found page checksum errors while copying it.
        public var error: Bool

        enum CodingKeys: String, CodingKey { case label, type, error, startedAt = "started_at", stoppedAt = "stopped_at" }

        public init(label: String, type: String, startedAt: Date, stoppedAt: Date, error: Bool = false) {
            self.label = label
            self.type = type
            self.startedAt = startedAt
            self.stoppedAt = stoppedAt
            self.error = error
        }
    }

    /// The source server's `pg_stat_archiver`, read at `checkedAt` (the server's clock).
    public struct Archiver: Codable, Sendable, Equatable {
        /// `archive_mode`: `on`, `always` or `off`.
        public var archiveMode: String
        public var lastArchivedAt: Date?
        public var lastArchivedWAL: String?
        public var lastFailedAt: Date?
        public var lastFailedWAL: String?
        public var checkedAt: Date

        enum CodingKeys: String, CodingKey {
            case archiveMode = "archive_mode", lastArchivedAt = "last_archived_at", lastArchivedWAL = "last_archived_wal"
            case lastFailedAt = "last_failed_at", lastFailedWAL = "last_failed_wal", checkedAt = "checked_at"
        }

        public init(archiveMode: String, lastArchivedAt: Date?, lastArchivedWAL: String? = nil, lastFailedAt: Date? = nil,
                    lastFailedWAL: String? = nil, checkedAt: Date) {
            self.archiveMode = archiveMode
            self.lastArchivedAt = lastArchivedAt
            self.lastArchivedWAL = lastArchivedWAL
            self.lastFailedAt = lastFailedAt
            self.lastFailedWAL = lastFailedWAL
            self.checkedAt = checkedAt
        }

        /// The last attempt to archive failed: WAL is piling up on the source.
        public var failing: Bool {
            guard let lastFailedAt else { return false }
            return lastArchivedAt.map { lastFailedAt > $0 } ?? true
        }
    }

    public var stanza: String
    /// Oldest first.
    public var backups: [Backup]
    public var archiver: Archiver
    /// The first moment pgBackRest recovers to: the second after the oldest backup's stop. It
    /// records stops to the second and takes a backup only when its stop is before the target's
    /// whole second, so a target in the stop's own second is refused (ERROR [075]).
    public private(set) var earliest: Date?
    /// When the source last archived a WAL segment: nothing after it can be recovered yet.
    public private(set) var latest: Date?
    /// Seconds from `latest` to the moment the archiver was read.
    public private(set) var archiveLagSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case stanza, backups, archiver, earliest, latest, archiveLagSeconds = "archive_lag_seconds"
    }

    public init(stanza: String, backups: [Backup], archiver: Archiver) {
        self.stanza = stanza
        self.backups = backups.sorted { $0.stoppedAt < $1.stoppedAt }
        self.archiver = archiver
        earliest = backups.map(\.stoppedAt).min().map { $0.addingTimeInterval(1) }
        latest = archiver.lastArchivedAt
        archiveLagSeconds = archiver.lastArchivedAt.map { max(0, archiver.checkedAt.timeIntervalSince($0)) }
    }

    /// Why a recovery to `target` cannot succeed, or nil when it may: the one rule, used before
    /// anything is restored.
    public func refusal(for target: Date, now: Date) -> PgBackRestRecoveryError? {
        if target > now { return .targetInFuture(target: target, now: now) }
        guard let earliest else { return .noBackups(stanza: stanza, status: "no backup sets") }
        if target < earliest { return .targetBeforeWindow(target: target, window: self) }
        if archiver.archiveMode == "off" { return .archivingOff(stanza: stanza) }
        if let latest, target > latest { return .targetAfterArchive(target: target, window: self) }
        return nil
    }

    /// `2026-12-02 03:06:33.000000+00 to 2026-12-02 03:10:17.368364+00`
    var describedRange: String {
        (earliest.map(PgBackRest.timeText) ?? "no backup") + " to " + (latest.map(PgBackRest.timeText) ?? "the last archived WAL (unknown)")
    }
}

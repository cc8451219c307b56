import FleetModel
import Foundation

/// Whether a venue is within policy at a moment, from its catalog and attempt record alone: the
/// one judge behind `status` (every rule), `sweep` (its backup warnings) and `compliance` (as of
/// the period's end). Backup age is judged against the venue's `backup.max_age`, which defaults to
/// `policy.max_backup_age`.
public struct PolicyJudge: Sendable {
    /// A rule a venue can break, worst first.
    public enum Rule: String, Sendable, CaseIterable, Codable {
        case failed, corruptLatest = "corrupt-latest", stale, unverified, notOffsite = "not-offsite"
        /// With `pitr:`: the archive lags past `policy.max_archive_lag`, its last archive failed, or the window cannot be read.
        case archive
    }

    /// One rule broken, and why, in words an operator acts on.
    public struct Breach: Sendable, Equatable {
        public var rule: Rule
        public var text: String
    }

    /// How old the latest restore point is against `backup.max_age`.
    public enum Freshness: String, Sendable { case fresh, stale, none }

    public var policy: HealthPolicy

    public init(policy: HealthPolicy) {
        self.policy = policy
    }

    public static func freshness(of venue: Venue, latest: CatalogEntry?, now: Date) -> Freshness {
        guard let latest else { return .none }
        return now.timeIntervalSince(latest.date) <= Double(venue.maxBackupAge.components.seconds) ? .fresh : .stale
    }

    /// The newest backup, whatever its state, when it is corrupt or unfinished and newer than the
    /// latest restore point: news even when an older good one is fresh enough.
    public static func damagedNewest(_ entries: [CatalogEntry]) -> CatalogEntry? {
        let latest = entries.latestRestorePoint
        guard let newest = entries.first(where: { !$0.fileName.hasSuffix(".partial") && !$0.inTheFuture }),
              newest.state == .corrupt || newest.state == .incomplete, newest.date > (latest?.date ?? .distantPast) else { return nil }
        return newest
    }

    /// Every rule the venue breaks at `now`, worst first; empty when it is within policy.
    public func breaches(of venue: Venue, entries: [CatalogEntry], attempt: AttemptRecord?, now: Date) -> [Breach] {
        var breaches: [Breach] = []
        if let attempt, attempt.status == .failed {
            breaches.append(Breach(rule: .failed, text: "last backup attempt failed at \(Timestamp.iso8601(attempt.at)): \(attempt.error ?? "?")"))
        }
        if let damaged = Self.damagedNewest(entries), damaged.state == .corrupt {
            breaches.append(Breach(rule: .corruptLatest, text: "newest backup \(damaged.fileName) is corrupt: \(damaged.reason ?? "?")"))
        }
        let latest = entries.latestRestorePoint
        switch Self.freshness(of: venue, latest: latest, now: now) {
        case .none:
            breaches.append(Breach(rule: .stale, text: "no complete backup"))
        case .stale:
            breaches.append(Breach(rule: .stale, text: "latest complete backup is \(Self.age(now.timeIntervalSince(latest!.date))) old (policy: \(FleetDuration.format(venue.maxBackupAge)))"))
        case .fresh:
            break
        }
        if let verified = Self.lastVerified(entries) {
            let age = now.timeIntervalSince(verified)
            if age > Double(policy.maxVerifyAge.components.seconds) {
                breaches.append(Breach(rule: .unverified, text: "last restore test \(Self.age(age)) ago (policy: \(FleetDuration.format(policy.maxVerifyAge)))"))
            }
        } else {
            breaches.append(Breach(rule: .unverified, text: "never restore-tested (run gwi-fleet verify)"))
        }
        if venue.backup.remote != nil && policy.requireOffsite {
            let offsiteAge = attempt?.offsiteVerifiedAt.map { now.timeIntervalSince($0) }
            if offsiteAge == nil || offsiteAge! > Double(venue.maxBackupAge.components.seconds) {
                breaches.append(Breach(rule: .notOffsite, text: attempt?.offsite == "failed" ? "the last off-site copy failed (gwi-fleet upload)"
                                       : "no verified off-site copy within \(FleetDuration.format(venue.maxBackupAge))"))
            }
        }
        let rank = Dictionary(uniqueKeysWithValues: Rule.allCases.enumerated().map { ($1, $0) })
        return breaches.enumerated().sorted { (rank[$0.element.rule]!, $0.offset) < (rank[$1.element.rule]!, $1.offset) }.map(\.element)
    }

    /// The point-in-time rules: the archive fresh enough, not failing, the window readable.
    public func breaches(ofArchive pitr: PITRStatus, now: Date) -> [Breach] {
        if let error = pitr.error { return [Breach(rule: .archive, text: "the recovery window cannot be read: \(error)")] }
        var breaches: [Breach] = []
        if let failed = pitr.lastArchiveFailure, failed > (pitr.latest ?? .distantPast) {
            breaches.append(Breach(rule: .archive, text: "WAL archiving is failing (last failure \(Timestamp.iso8601(failed)), after the last success)"))
        }
        if let lag = pitr.archiveLagSeconds, lag > Double(policy.maxArchiveLag.components.seconds) {
            breaches.append(Breach(rule: .archive, text: "WAL archived \(Self.age(lag)) ago (policy: \(FleetDuration.format(policy.maxArchiveLag)))"))
        } else if pitr.latest == nil {
            breaches.append(Breach(rule: .archive, text: "no WAL archived yet"))
        }
        return breaches
    }

    /// When a backup of the catalog was last restore-tested successfully.
    public static func lastVerified(_ entries: [CatalogEntry]) -> Date? {
        entries.compactMap { $0.state == .verified ? $0.verification?.verifiedAt : nil }.max()
    }

    /// `30h 0m`, `3d 4h`.
    public static func age(_ seconds: TimeInterval) -> String {
        let hours = Int(seconds) / 3600
        return hours >= 48 ? "\(hours / 24)d \(hours % 24)h" : "\(hours)h \(Int(seconds) / 60 % 60)m"
    }
}

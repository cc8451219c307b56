import FleetModel
import Foundation

/// Retention of one venue's backups, locally and on its remote. Deletes complete backups older
/// than `keep_days`, but always keeps the newest `keep_min` complete ones and the newest verified
/// one; never deletes a corrupt or incomplete backup, one dated in the future, or anything while
/// the venue's latest backup attempt failed. Removes leftover temporary files older than a day.
/// `prune` and `backup --prune` both apply it.
public struct Retention: Sendable {
    /// What happens to one file, and why.
    public struct Decision: Sendable, Equatable {
        public var path: String
        public var delete: Bool
        public var reason: String
        /// Kept as a reason to delete others (one of the newest `keep_min`, the newest verified):
        /// prune re-hashes it before it deletes anything on its word.
        public var reliedOn: Bool

        public init(path: String, delete: Bool, reason: String, reliedOn: Bool = false) {
            self.path = path
            self.delete = delete
            self.reason = reason
            self.reliedOn = reliedOn
        }
    }

    public var dryRun: Bool
    public var now: @Sendable () -> Date
    /// Changes to the rclone children's environment (tests unset `AWS_CA_BUNDLE`).
    public var remoteEnvironment: [String: String?]

    public init(dryRun: Bool = false, now: @escaping @Sendable () -> Date = { WallClock.now() }, remoteEnvironment: [String: String?] = [:]) {
        self.dryRun = dryRun
        self.now = now
        self.remoteEnvironment = remoteEnvironment
    }

    /// The plan, after re-hashing every backup it keeps as a reason to delete another: one found
    /// corrupt (bit rot: same size, other bytes) is recorded as such and the plan made again, so
    /// a good backup is never deleted on the word of a bad one.
    static func checkedPlan(_ catalog: BackupCatalog, retention: RetentionPolicy, now: Date) async throws -> ([CatalogEntry], [Decision]) {
        var entries = catalog.entries(now: now)
        var checked: Set<String> = []
        while true {
            let decisions = plan(entries, retention: retention, now: now)
            guard decisions.contains(where: \.delete) else { return (entries, decisions) }
            let unchecked = decisions.filter { $0.reliedOn && !checked.contains($0.path) }
            guard !unchecked.isEmpty else { return (entries, decisions) }
            for decision in unchecked {
                checked.insert(decision.path)
                guard let index = entries.firstIndex(where: { $0.path == decision.path }), let manifest = entries[index].manifest else { continue }
                let digest = try await DigestTap.file(decision.path)
                guard digest.bytes != manifest.bytes || digest.sha256 != manifest.sha256 else { continue }
                let reason = "checksum mismatch found by prune at \(Timestamp.iso8601(now)): SHA-256 \(digest.sha256.prefix(12))…, manifest says \(manifest.sha256.prefix(12))…"
                try catalog.record(VerificationRecord(verifiedAt: now, sha256: manifest.sha256, checksumOK: false, restoreOK: false,
                                                      tablesMatched: 0, tables: manifest.rowCounts.count, mismatches: [], error: reason),
                                   ofDump: entries[index].fileName)
                entries[index].state = .corrupt
                entries[index].reason = reason
            }
        }
    }

    /// Applies the venue's retention, with its lock already held (`prune`, `backup --prune`).
    func apply(to venue: Venue) async throws -> PruneResult {
        let catalog = BackupCatalog(venue: venue)
        if let attempt = catalog.lastAttempt(), attempt.status == .failed {
            throw VenueSkipped(reason: "not pruned: the latest backup attempt failed at \(Timestamp.iso8601(attempt.at)) (\(attempt.error ?? "unknown error"))")
        }
        let now = self.now()
        let (entries, decisions) = try await Self.checkedPlan(catalog, retention: venue.backup.retention, now: now)
        if !dryRun {
            for decision in decisions where decision.delete {
                guard let entry = entries.first(where: { $0.path == decision.path }) else { continue }
                try catalog.delete(entry)
            }
        }
        let file = { (decision: Decision) in PruneResult.File(file: decision.path, reason: decision.reason) }
        var result = PruneResult(dryRun: dryRun, deleted: decisions.filter(\.delete).map(file),
                                 kept: decisions.filter { !$0.delete }.map(file))
        if let remote = venue.backup.remote {
            let remoteDecisions = try await pruneRemote(venue, remote: remote, now: now)
            result.remoteDeleted = remoteDecisions.filter(\.delete).map(file)
            result.remoteKept = remoteDecisions.filter { !$0.delete }.map(file)
        }
        return result
    }

    /// The same rules on the remote, with its own retention: never the newest verified, never a
    /// backup whose stored MD5 differs from its manifest (it is corrupt), and a dump without a
    /// manifest only when older than a day (an upload that was cut off). Manifest first, so a
    /// backup stops counting before its dump goes.
    func pruneRemote(_ venue: Venue, remote policy: RemotePolicy, now: Date) async throws -> [Decision] {
        let remote = RcloneRemote(url: policy.url, environment: remoteEnvironment)
        let snapshot = try await CatalogSnapshot.load(remote, slug: venue.slug)
        let catalog = BackupCatalog(files: snapshot, slug: venue.slug, database: venue.database)
        let entries = catalog.entries(now: now)
        let decisions = Self.plan(entries, retention: policy.retention ?? venue.backup.retention, now: now, orphansAfterADay: true)
        guard !dryRun else { return decisions }
        for decision in decisions where decision.delete {
            guard let entry = entries.first(where: { $0.path == decision.path }) else { continue }
            let name = entry.fileName
            guard let stem = BackupCatalog.dumpStem(name) else { try await remote.delete(venue.slug, name); continue }
            for file in [stem + ".manifest.json", name, stem + ".verify.json"] where snapshot.files.contains(where: { $0.name == file }) {
                try await remote.delete(venue.slug, file)
            }
        }
        return decisions
    }

    /// The policy, as a pure function of the catalog (newest first) and the time.
    /// `orphansAfterADay`: on a remote, a dump with no manifest older than a day is the leftover
    /// of a cut-off upload and may go (locally only `.partial` files are such leftovers).
    public static func plan(_ entries: [CatalogEntry], retention: RetentionPolicy, now: Date, orphansAfterADay: Bool = false) -> [Decision] {
        let calendarKeeps = calendarReasons(entries, rules: retention.calendar, now: now)
        var decisions: [Decision] = []
        var completeSeen = 0
        var newestVerifiedSeen = false
        let day: TimeInterval = 86_400
        for entry in entries {
            let age = now.timeIntervalSince(entry.date)
            switch entry.state {
            case .incomplete where entry.fileName.hasSuffix(".partial"):
                decisions.append(age > day
                    ? Decision(path: entry.path, delete: true, reason: "leftover temporary file older than a day")
                    : Decision(path: entry.path, delete: false, reason: "temporary file of a run that may still be going"))
            case .incomplete where orphansAfterADay && entry.manifest == nil && entry.manifestPath == nil && age > day:
                decisions.append(Decision(path: entry.path, delete: true, reason: "no manifest and older than a day: the leftover of a cut-off upload"))
            case .incomplete, .corrupt:
                decisions.append(Decision(path: entry.path, delete: false,
                                          reason: "\(entry.state.rawValue): \(entry.reason ?? "?"); never deleted by prune, inspect by hand"))
            case .complete, .verified:
                if entry.date.timeIntervalSince(now) > CatalogEntry.clockTolerance {
                    decisions.append(Decision(path: entry.path, delete: false,
                                              reason: "dated in the future (\(Timestamp.iso8601(entry.date)); clock skew?): never deleted, not counted for keep_min"))
                    continue
                }
                // A safety backup (the state a restore replaced) is no restore point: it never
                // counts toward keep_min nor holds another, and goes with keep_days like any other.
                // (Dated in the future was judged above, against this plan's own `now`.)
                if !CatalogEntry.isRestorePoint(complete: true, purpose: entry.manifest?.effectivePurpose, inTheFuture: false) {
                    let young = age <= Double(retention.keepDays) * day
                    decisions.append(Decision(path: entry.path, delete: !young,
                                              reason: young ? "safety backup younger than \(retention.keepDays) days"
                                                            : "safety backup older than \(retention.keepDays) days (no restore point)"))
                    continue
                }
                completeSeen += 1
                let isNewestVerified = entry.state == .verified && !newestVerifiedSeen
                if entry.state == .verified { newestVerifiedSeen = true }
                let reason: String
                var delete = false
                var reliedOn = false
                if completeSeen <= retention.keepMin {
                    reason = "one of the newest \(retention.keepMin) complete backups"
                    reliedOn = true
                } else if isNewestVerified {
                    reason = "newest verified backup"
                    reliedOn = true
                } else if let kept = calendarKeeps[entry.path] {
                    reason = kept
                } else if age <= Double(retention.keepDays) * day {
                    reason = "younger than \(retention.keepDays) days"
                } else {
                    reason = "older than \(retention.keepDays) days"
                    delete = true
                }
                decisions.append(Decision(path: entry.path, delete: delete, reason: reason, reliedOn: reliedOn))
            }
        }
        return decisions
    }

    /// The calendar rules (restic's `forget --keep-daily …`): walking the restore points newest
    /// first, the first of each UTC day, ISO week, month and year is that period's newest, kept for
    /// the first N periods that have one. Only complete restore points not dated in the future count
    /// (no safety backup, nothing corrupt or unfinished). Path → why (every rule that keeps it).
    static func calendarReasons(_ entries: [CatalogEntry], rules: RetentionPolicy.Calendar, now: Date) -> [String: String] {
        let points = entries.filter { entry in
            (entry.state == .complete || entry.state == .verified) && entry.date.timeIntervalSince(now) <= CatalogEntry.clockTolerance
                && CatalogEntry.isRestorePoint(complete: true, purpose: entry.manifest?.effectivePurpose, inTheFuture: false)
        }.sorted { $0.date > $1.date }
        var utc = Foundation.Calendar(identifier: .iso8601)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let periods: [(rule: String, count: Int?, key: (Date) -> String)] = [
            ("keep_daily", rules.daily, { date in
                let parts = utc.dateComponents([.year, .month, .day], from: date)
                return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
            }),
            ("keep_weekly", rules.weekly, { date in
                let parts = utc.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
                return String(format: "%04d-W%02d", parts.yearForWeekOfYear!, parts.weekOfYear!)
            }),
            ("keep_monthly", rules.monthly, { date in
                let parts = utc.dateComponents([.year, .month], from: date)
                return String(format: "%04d-%02d", parts.year!, parts.month!)
            }),
            ("keep_yearly", rules.yearly, { date in String(format: "%04d", utc.component(.year, from: date)) }),
        ]
        var reasons: [String: [String]] = [:]
        for period in periods {
            guard let count = period.count, count > 0 else { continue }
            var seen: Set<String> = []
            for entry in points {
                let key = period.key(entry.date)
                guard !seen.contains(key) else { continue }
                seen.insert(key)
                guard seen.count <= count else { break }
                reasons[entry.path, default: []].append("\(period.rule) (newest of \(key))")
            }
        }
        return reasons.mapValues { "kept by " + $0.joined(separator: ", ") }
    }
}

import FleetBasics
import Foundation

/// What the saved reports say happened to backups, per venue: which backups were taken (and
/// copied off-site), which attempts failed and why, which files prune deleted, and what each
/// `check` read of the point-in-time recovery window. The catalog only shows what is there now;
/// this is how `compliance` tells a backup pruned by policy from one lost, knows which local
/// backups reached the remote, and when a point-in-time restore could reach how far.
public struct BackupHistory: Sendable {
    /// A backup a `backup` run reported complete.
    public struct Taken: Sendable, Equatable {
        public var file: String
        public var at: Date
        public var bytes: Int
        public var encrypted: Bool
        /// `verified` or `failed`; nil when the venue had no remote.
        public var offsite: String?
    }

    /// A `backup` run that failed on the venue.
    public struct FailedAttempt: Sendable, Equatable, Codable {
        public var at: Date
        public var error: String
    }

    /// What a `check` run read of a venue's recovery window (`fleet_totals.pitr`).
    public struct ArchiveSample: Sendable, Equatable {
        /// When the window was read.
        public var at: Date
        /// The newest moment a point-in-time restore could reach then (`PITRStatus.recoverableTo`);
        /// nil when PITR did not hold (the window unreadable, no base backup, nothing archived).
        public var recoverableTo: Date?

        public init(at: Date, recoverableTo: Date?) {
            self.at = at
            self.recoverableTo = recoverableTo
        }
    }

    /// Per venue slug.
    public var taken: [String: [Taken]] = [:]
    public var failed: [String: [FailedAttempt]] = [:]
    /// File names copied off-site by a backup or an upload run.
    public var offsite: [String: Set<String>] = [:]
    /// File names deleted by prune, locally and on the remote.
    public var pruned: [String: Set<String>] = [:]
    public var remotePruned: [String: Set<String>] = [:]
    /// Times of every reported backup attempt (ok or failed), to find the latest as of a date.
    public var attempts: [String: [(at: Date, failed: Bool)]] = [:]
    /// Every window a `check` read, oldest first.
    public var archive: [String: [ArchiveSample]] = [:]

    public init() {}

    /// Reads every saved `backup`, `upload` and `prune` report of a directory (shards and merged
    /// reports alike: the same backup reported twice is counted once), and the `check` reports
    /// from `checksSince` on (checks may run every few minutes: the older ones are not read).
    public static func load(reportsDirectory: String, checksSince: Date? = nil) async -> BackupHistory {
        await BlockingExecutor.shared.run { scan(reportsDirectory: reportsDirectory, checksSince: checksSince) }
    }

    static func scan(reportsDirectory: String, checksSince: Date? = nil) -> BackupHistory {
        var history = BackupHistory()
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: reportsDirectory)) ?? []).sorted()
        var seenRuns: Set<String> = []
        for name in names where name.hasSuffix(".json") && ["backup-", "upload-", "prune-", "check-"].contains(where: name.hasPrefix) {
            if name.hasPrefix("check-"), let checksSince, let started = runTime(name), started < checksSince { continue }
            guard let report = try? RunReport.read(reportsDirectory + "/" + name) else { continue }
            let runID = report.runID.isEmpty ? name : report.runID
            for outcome in report.outcomes {
                // A merged report repeats its shards' rows; one row per run and venue.
                guard seenRuns.insert(runID + "\u{0}" + report.command + "\u{0}" + outcome.slug).inserted else { continue }
                history.add(outcome, of: report.command, at: report.startedAt)
            }
            for (slug, window) in report.totals.pitr ?? [:] where report.command == CheckResult.command {
                guard seenRuns.insert(runID + "\u{0}pitr\u{0}" + slug).inserted else { continue }
                history.archive[slug, default: []].append(ArchiveSample(at: window.checkedAt ?? report.finishedAt,
                                                                        recoverableTo: window.recoverableTo))
            }
        }
        for slug in history.archive.keys { history.archive[slug]!.sort { $0.at < $1.at } }
        return history
    }

    /// The time a report's name starts with (`check-20261125T001440Z-3f9a2c1d.json`); nil when its
    /// run id is another (`GWI_RUN_ID`).
    static func runTime(_ name: String) -> Date? {
        let id = name.drop { $0 != "-" }.dropFirst()
        guard let stamp = id.prefixMatch(of: /\d{8}T\d{6}Z/) else { return nil }
        return Timestamp.parseCompact(String(stamp.output))
    }

    mutating func add(_ outcome: VenueOutcome, of command: String, at: Date) {
        let slug = outcome.slug
        switch command {
        case BackupResult.command:
            guard outcome.status == .ok || outcome.status == .failed else { return }
            attempts[slug, default: []].append((at, outcome.status == .failed))
            if outcome.status == .failed {
                failed[slug, default: []].append(FailedAttempt(at: at, error: outcome.error ?? "unknown error"))
            }
            guard let backup = outcome.result(as: BackupResult.self) else { return }
            let file = Self.fileName(backup.file)
            taken[slug, default: []].append(Taken(file: file, at: Self.timeInName(file) ?? at, bytes: backup.bytes,
                                                  encrypted: backup.encrypted, offsite: backup.offsite?.status))
            if backup.offsite?.isVerified == true { offsite[slug, default: []].insert(file) }
            if let pruned = backup.pruned { notePruned(slug, pruned) }
        case UploadResult.command:
            for name in outcome.result(as: UploadResult.self)?.uploaded ?? [] { offsite[slug, default: []].insert(name) }
        case PruneResult.command:
            guard let pruned = outcome.result(as: PruneResult.self), !pruned.dryRun else { return }
            notePruned(slug, pruned)
        default:
            return
        }
    }

    mutating func notePruned(_ slug: String, _ pruned: PruneResult) {
        for file in pruned.deleted { self.pruned[slug, default: []].insert(Self.fileName(file.file)) }
        for file in pruned.remoteDeleted ?? [] { remotePruned[slug, default: []].insert(Self.fileName(file.file)) }
    }

    /// The last component of a local path or a remote one (`offsite:bucket/fleet/slug/x.dump`).
    static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// `gwi_pos_airport-20261124T233939Z.dump.zst` → its time.
    static func timeInName(_ name: String) -> Date? {
        guard let stem = BackupCatalog.dumpStem(name), let dash = stem.lastIndex(of: "-") else { return nil }
        return Timestamp.parseCompact(String(stem[stem.index(after: dash)...]))
    }
}

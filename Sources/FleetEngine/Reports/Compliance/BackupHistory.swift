import Foundation

/// What the saved reports say happened to backups, per venue: which backups were taken (and
/// copied off-site), which attempts failed and why, which files prune deleted. The catalog only
/// shows what is there now; this is how `compliance` tells a backup pruned by policy from one
/// lost, and knows which local backups reached the remote.
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

    public init() {}

    /// Reads every saved `backup`, `upload` and `prune` report of a directory (shards and merged
    /// reports alike: the same backup reported twice is counted once).
    public static func load(reportsDirectory: String) -> BackupHistory {
        var history = BackupHistory()
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: reportsDirectory)) ?? []).sorted()
        var seenRuns: Set<String> = []
        for name in names where name.hasSuffix(".json") && ["backup-", "upload-", "prune-"].contains(where: name.hasPrefix) {
            guard let data = FileManager.default.contents(atPath: reportsDirectory + "/" + name),
                  let report = try? JSONDecoder().decode(SavedReport.self, from: data),
                  let started = Timestamp.parse(report.startedAt) else { continue }
            let runID = report.runID ?? name
            for row in report.venues {
                // A merged report repeats its shards' rows; one row per run and venue.
                guard seenRuns.insert(runID + "\u{0}" + report.command + "\u{0}" + row.slug).inserted else { continue }
                history.add(command: report.command, row: row, at: started)
            }
        }
        return history
    }

    /// The few fields of a saved report this reads (a typed decode: much faster than a generic one
    /// over a month of nightly reports of thousands of venues).
    struct SavedReport: Decodable {
        struct Row: Decodable {
            struct Offsite: Decodable { var status: String? }
            struct Deleted: Decodable { var file: String? }
            var slug: String
            var status: String
            var error: String?
            var file: String?
            var bytes: Int?
            var encrypted: Bool?
            var offsite: Offsite?
            var uploaded: [String]?
            var deleted: [Deleted]?
            var remoteDeleted: [Deleted]?
            var dryRun: Bool?
            /// What `backup --prune` deleted after the backup.
            var prunedDeleted: [Deleted]?
            var prunedRemoteDeleted: [Deleted]?

            enum CodingKeys: String, CodingKey {
                case slug, status, error, file, bytes, encrypted, offsite, uploaded, deleted
                case remoteDeleted = "remote_deleted", dryRun = "dry_run"
                case prunedDeleted = "pruned_deleted", prunedRemoteDeleted = "pruned_remote_deleted"
            }
        }

        var command: String
        var runID: String?
        var startedAt: String
        var venues: [Row]

        enum CodingKeys: String, CodingKey {
            case command, venues, runID = "run_id", startedAt = "started_at"
        }
    }

    mutating func add(command: String, row: SavedReport.Row, at: Date) {
        let slug = row.slug
        switch command {
        case "backup":
            guard row.status == "ok" || row.status == "failed" else { return }
            attempts[slug, default: []].append((at, row.status == "failed"))
            if row.status == "failed" {
                failed[slug, default: []].append(FailedAttempt(at: at, error: row.error ?? "unknown error"))
            }
            if let file = row.file.map(Self.fileName), let bytes = row.bytes {
                let offsite = row.offsite?.status
                taken[slug, default: []].append(Taken(file: file, at: Self.timeInName(file) ?? at, bytes: bytes,
                                                      encrypted: row.encrypted == true, offsite: offsite))
                if offsite == "verified" { self.offsite[slug, default: []].insert(file) }
            }
            notePruned(slug, local: row.prunedDeleted, remote: row.prunedRemoteDeleted)
        case "upload":
            for name in row.uploaded ?? [] { offsite[slug, default: []].insert(name) }
        case "prune":
            guard row.dryRun != true else { return }
            notePruned(slug, local: row.deleted, remote: row.remoteDeleted)
        default:
            return
        }
    }

    mutating func notePruned(_ slug: String, local: [SavedReport.Row.Deleted]?, remote: [SavedReport.Row.Deleted]?) {
        for file in local ?? [] { if let path = file.file { pruned[slug, default: []].insert(Self.fileName(path)) } }
        for file in remote ?? [] { if let path = file.file { remotePruned[slug, default: []].insert(Self.fileName(path)) } }
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

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
                  let json = try? JSONDecoder().decode(JSONValue.self, from: data),
                  let command = json["command"]?.stringValue,
                  let started = json["started_at"]?.stringValue.flatMap(Timestamp.parse) else { continue }
            let runID = json["run_id"]?.stringValue ?? name
            for venue in json["venues"]?.arrayValue ?? [] {
                guard let slug = venue["slug"]?.stringValue, let status = venue["status"]?.stringValue else { continue }
                // A merged report repeats its shards' rows; one row per run and venue.
                guard seenRuns.insert(runID + "\u{0}" + command + "\u{0}" + slug).inserted else { continue }
                history.add(command: command, slug: slug, status: status, row: venue, at: started)
            }
        }
        return history
    }

    mutating func add(command: String, slug: String, status: String, row: JSONValue, at: Date) {
        switch command {
        case "backup":
            guard status == "ok" || status == "failed" else { return }
            let file = row["file"]?.stringValue.map { URL(fileURLWithPath: $0).lastPathComponent }
            let offsite = row["offsite"]?["status"]?.stringValue
            attempts[slug, default: []].append((at, status == "failed"))
            if status == "failed" {
                failed[slug, default: []].append(FailedAttempt(at: at, error: row["error"]?.stringValue ?? "unknown error"))
            }
            if let file, let bytes = row["bytes"]?.intValue {
                let time = Self.timeInName(file) ?? at
                taken[slug, default: []].append(Taken(file: file, at: time, bytes: bytes, encrypted: row["encrypted"] == .bool(true), offsite: offsite))
                if offsite == "verified" { self.offsite[slug, default: []].insert(file) }
            }
        case "upload":
            for name in row["uploaded"]?.arrayValue?.compactMap(\.stringValue) ?? [] { offsite[slug, default: []].insert(name) }
        case "prune":
            guard row["dry_run"] != .bool(true) else { return }
            for (key, into) in [("deleted", \BackupHistory.pruned), ("remote_deleted", \BackupHistory.remotePruned)] {
                for file in row[key]?.arrayValue ?? [] {
                    guard let path = file["file"]?.stringValue else { continue }
                    self[keyPath: into][slug, default: []].insert(URL(fileURLWithPath: path).lastPathComponent)
                }
            }
        default:
            return
        }
    }

    /// `gwi_pos_airport-20261124T233939Z.dump.zst` → its time.
    static func timeInName(_ name: String) -> Date? {
        guard let stem = BackupCatalog.dumpStem(name), let dash = stem.lastIndex(of: "-") else { return nil }
        return Timestamp.parseCompact(String(stem[stem.index(after: dash)...]))
    }
}

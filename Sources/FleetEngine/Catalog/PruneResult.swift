/// What retention did to one venue's backups: the result of `prune`, and of `backup --prune` under `pruned`.
public struct PruneResult: VenueResult {
    public static let command = "prune"

    /// One file and why it goes or stays.
    public struct File: Sendable, Equatable, Codable {
        public var file: String
        public var reason: String

        public init(file: String, reason: String) {
            self.file = file
            self.reason = reason
        }
    }

    public var dryRun: Bool
    public var deleted: [File]
    public var kept: [File]
    /// With a remote: the same for its copies.
    public var remoteDeleted: [File]?
    public var remoteKept: [File]?

    public init(dryRun: Bool, deleted: [File], kept: [File], remoteDeleted: [File]? = nil, remoteKept: [File]? = nil) {
        self.dryRun = dryRun
        self.deleted = deleted
        self.kept = kept
        self.remoteDeleted = remoteDeleted
        self.remoteKept = remoteKept
    }

    public var summary: String {
        guard !deleted.isEmpty || !kept.isEmpty || remoteDeleted != nil else { return "no backups yet" }
        let verb = dryRun ? "would delete" : "deleted"
        var text = "\(verb) \(deleted.count), kept \(kept.count)"
        if let remoteDeleted { text += "; remote: \(verb) \(remoteDeleted.count), kept \(remoteKept?.count ?? 0)" }
        return text
    }

    enum CodingKeys: String, CodingKey {
        case dryRun = "dry_run", deleted, kept, remoteDeleted = "remote_deleted", remoteKept = "remote_kept"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(dryRun: try container.decodeIfPresent(Bool.self, forKey: .dryRun) ?? false,
                  deleted: try container.decode([File].self, forKey: .deleted), kept: try container.decode([File].self, forKey: .kept),
                  remoteDeleted: try container.decodeIfPresent([File].self, forKey: .remoteDeleted),
                  remoteKept: try container.decodeIfPresent([File].self, forKey: .remoteKept))
    }

    /// One line per file: `airport: keep x.dump: one of the newest 3 complete backups`.
    public func decisionLines(venue slug: String) -> [String] {
        let name = { (path: String) in path.split(separator: "/").last.map(String.init) ?? path }
        return deleted.map { "\(slug): \(dryRun ? "would delete" : "deleted") \(name($0.file)): \($0.reason)" }
            + kept.map { "\(slug): keep \(name($0.file)): \($0.reason)" }
    }
}

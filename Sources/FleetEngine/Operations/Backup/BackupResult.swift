import FleetModel

/// `backup` on one venue: the file and its manifest's facts, its off-site copy, and (with
/// `--prune`) what retention did after it.
public struct BackupResult: VenueResult {
    public static let command = "backup"

    /// The off-site copy: `verified` with its remote path, or `failed` with why.
    public struct Offsite: Sendable, Equatable, Codable {
        public var status: String
        public var path: String?
        public var error: String?

        public init(status: String, path: String? = nil, error: String? = nil) {
            self.status = status
            self.path = path
            self.error = error
        }

        public static func verified(_ path: String) -> Offsite { Offsite(status: "verified", path: path) }
        public static func failed(_ error: String) -> Offsite { Offsite(status: "failed", error: error) }
        public var isVerified: Bool { status == "verified" }
    }

    public var file: String
    public var manifest: String
    public var format: BackupFormat
    public var compression: String?
    public var encrypted: Bool
    public var bytes: Int
    public var sha256: String
    public var dumpSHA256: String?
    public var serverVersion: String
    public var rowCounts: [String: Int]
    public var offsite: Offsite?
    public var pruned: PruneResult?

    public init(file: String, bytes: Int, format: BackupFormat = .custom, compression: String? = nil, encrypted: Bool = false,
                sha256: String = "", dumpSHA256: String? = nil, serverVersion: String = "", rowCounts: [String: Int] = [:],
                offsite: Offsite? = nil, pruned: PruneResult? = nil) {
        self.file = file
        manifest = BackupManifest.path(forDump: file)
        self.format = format
        self.compression = compression
        self.encrypted = encrypted
        self.bytes = bytes
        self.sha256 = sha256
        self.dumpSHA256 = dumpSHA256
        self.serverVersion = serverVersion
        self.rowCounts = rowCounts
        self.offsite = offsite
        self.pruned = pruned
    }

    /// The result of a backup whose manifest is written, as it lies in `directory`.
    public init(_ manifest: BackupManifest, directory: String) {
        file = directory + "/" + manifest.file
        self.manifest = BackupManifest.path(forDump: file)
        format = manifest.format
        compression = manifest.compression
        encrypted = manifest.encryption != nil
        bytes = manifest.bytes
        sha256 = manifest.sha256
        dumpSHA256 = manifest.dumpSHA256
        serverVersion = manifest.serverVersion
        rowCounts = manifest.rowCounts
    }

    public var rows: Int { rowCounts.values.reduce(0, +) }

    public var summary: String {
        var text = "\(ByteCount.human(bytes)) \(format.rawValue)"
        if let compression, compression != "none" { text += " " + compression }
        if encrypted { text += " age" }
        text += ", \(rowCounts.count) tables, \(rows) rows"
        if offsite?.isVerified == true { text += "; offsite verified" }
        if let pruned { text += "; pruned: \(pruned.summary)" }
        return text
    }

    enum CodingKeys: String, CodingKey {
        case file, manifest, format, compression, encrypted, bytes, sha256, dumpSHA256 = "dump_sha256"
        case serverVersion = "server_version", rowCounts = "row_counts", offsite, pruned
        // Schema 2 wrote what `--prune` did beside the backup's own keys.
        case prunedDeleted = "pruned_deleted", prunedKept = "pruned_kept"
        case prunedRemoteDeleted = "pruned_remote_deleted", prunedRemoteKept = "pruned_remote_kept"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        file = try container.decode(String.self, forKey: .file)
        manifest = try container.decodeIfPresent(String.self, forKey: .manifest) ?? BackupManifest.path(forDump: file)
        format = try container.decodeIfPresent(BackupFormat.self, forKey: .format) ?? .custom
        compression = try container.decodeIfPresent(String.self, forKey: .compression)
        encrypted = try container.decodeIfPresent(Bool.self, forKey: .encrypted) ?? false
        bytes = try container.decode(Int.self, forKey: .bytes)
        sha256 = try container.decodeIfPresent(String.self, forKey: .sha256) ?? ""
        dumpSHA256 = try container.decodeIfPresent(String.self, forKey: .dumpSHA256)
        serverVersion = try container.decodeIfPresent(String.self, forKey: .serverVersion) ?? ""
        rowCounts = try container.decodeIfPresent([String: Int].self, forKey: .rowCounts) ?? [:]
        offsite = try container.decodeIfPresent(Offsite.self, forKey: .offsite)
        pruned = try container.decodeIfPresent(PruneResult.self, forKey: .pruned)
        if pruned == nil, let deleted = try container.decodeIfPresent([PruneResult.File].self, forKey: .prunedDeleted) {
            pruned = PruneResult(dryRun: false, deleted: deleted,
                                 kept: try container.decodeIfPresent([PruneResult.File].self, forKey: .prunedKept) ?? [],
                                 remoteDeleted: try container.decodeIfPresent([PruneResult.File].self, forKey: .prunedRemoteDeleted),
                                 remoteKept: try container.decodeIfPresent([PruneResult.File].self, forKey: .prunedRemoteKept))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(file, forKey: .file)
        try container.encode(manifest, forKey: .manifest)
        try container.encode(format, forKey: .format)
        try container.encode(compression, forKey: .compression)
        try container.encode(encrypted, forKey: .encrypted)
        try container.encode(bytes, forKey: .bytes)
        try container.encode(sha256, forKey: .sha256)
        try container.encode(dumpSHA256, forKey: .dumpSHA256)
        try container.encode(serverVersion, forKey: .serverVersion)
        try container.encode(rowCounts, forKey: .rowCounts)
        try container.encodeIfPresent(offsite, forKey: .offsite)
        try container.encodeIfPresent(pruned, forKey: .pruned)
    }
}

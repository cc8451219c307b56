/// `restore` on one venue: which backup went where, how many tables matched its manifest, and
/// what is needed to undo it.
public struct RestoreResult: VenueResult {
    public static let command = "restore"
    /// The backup restored.
    public var backup: String
    /// The database it was restored into (the venue's own, or `--as NAME`).
    public var restoredInto: String?
    public var tablesMatched: Int?
    /// The backup taken of the database before it was replaced.
    public var safetyBackup: String?
    /// Where the old database was kept (replace by rename).
    public var replacedDatabase: String?
    /// `--in-place`: tables the backup does not hold, left as they were.
    public var untouchedTables: [String]?
    /// What to run to go back.
    public var undo: String?
    /// What the restore left behind that needs a hand (a Neon branch that could not be deleted).
    public var leftBehind: String?
    /// "Latest" was the pre-exec backup of this exec run, restored with `--yes`: what the run changed is undone.
    public var execRun: String?
    public var warnings: [String] {
        (leftBehind.map { [$0] } ?? []) + (execRun.map { ["restored the pre-exec backup of \($0): what that run changed is undone"] } ?? [])
    }
    /// Newer backups that "latest" passed over (corrupt or unfinished), with why.
    public var skippedNewer: [String]?
    /// `restore --at`: the moment asked for, the last commit replayed, the base backup.
    public var pitr: BackupManifest.PITR?
    public var summary: String

    public init(backup: String, summary: String = "") {
        self.backup = backup
        self.summary = summary
    }

    enum CodingKeys: String, CodingKey {
        case backup, restoredInto = "restored_into", tablesMatched = "tables_matched", safetyBackup = "safety_backup"
        case replacedDatabase = "replaced_database", untouchedTables = "untouched_tables", undo, skippedNewer = "skipped_newer", pitr
        case leftBehind = "left_behind", execRun = "exec_run"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(backup: try container.decode(String.self, forKey: .backup))
        restoredInto = try container.decodeIfPresent(String.self, forKey: .restoredInto)
        tablesMatched = try container.decodeIfPresent(Int.self, forKey: .tablesMatched)
        safetyBackup = try container.decodeIfPresent(String.self, forKey: .safetyBackup)
        replacedDatabase = try container.decodeIfPresent(String.self, forKey: .replacedDatabase)
        untouchedTables = try container.decodeIfPresent([String].self, forKey: .untouchedTables)
        undo = try container.decodeIfPresent(String.self, forKey: .undo)
        skippedNewer = try container.decodeIfPresent([String].self, forKey: .skippedNewer)
        pitr = try container.decodeIfPresent(BackupManifest.PITR.self, forKey: .pitr)
        leftBehind = try container.decodeIfPresent(String.self, forKey: .leftBehind)
        execRun = try container.decodeIfPresent(String.self, forKey: .execRun)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(backup, forKey: .backup)
        try container.encodeIfPresent(restoredInto, forKey: .restoredInto)
        try container.encodeIfPresent(tablesMatched, forKey: .tablesMatched)
        try container.encodeIfPresent(safetyBackup, forKey: .safetyBackup)
        try container.encodeIfPresent(replacedDatabase, forKey: .replacedDatabase)
        try container.encodeIfPresent(untouchedTables, forKey: .untouchedTables)
        try container.encodeIfPresent(undo, forKey: .undo)
        try container.encodeIfPresent(skippedNewer, forKey: .skippedNewer)
        try container.encodeIfPresent(pitr, forKey: .pitr)
        try container.encodeIfPresent(leftBehind, forKey: .leftBehind)
        try container.encodeIfPresent(execRun, forKey: .execRun)
    }
}

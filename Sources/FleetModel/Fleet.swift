import Foundation

/// How pg_dump writes a backup.
public enum BackupFormat: String, Sendable, CaseIterable, Codable {
    /// `pg_dump -Fc`: compressed, restored with pg_restore.
    case custom
    /// Plain SQL, restored with psql.
    case plain

    public var fileExtension: String { self == .custom ? "dump" : "sql" }
}

/// How many backups `prune` keeps.
public struct RetentionPolicy: Sendable, Equatable {
    public static let defaultKeepDays = 30
    public static let defaultKeepMin = 3

    /// Complete backups older than this many days may be deleted…
    public var keepDays: Int
    /// …but the newest this many complete backups are always kept.
    public var keepMin: Int

    public init(keepDays: Int = RetentionPolicy.defaultKeepDays, keepMin: Int = RetentionPolicy.defaultKeepMin) {
        self.keepDays = keepDays
        self.keepMin = keepMin
    }
}

/// Where and how a venue's backups are written, and how long they are kept.
public struct BackupPolicy: Sendable, Equatable {
    /// Absolute directory; each venue writes below `<directory>/<slug>/`.
    public var directory: String
    public var format: BackupFormat
    public var retention: RetentionPolicy

    public init(directory: String, format: BackupFormat = .custom, retention: RetentionPolicy = RetentionPolicy()) {
        self.directory = directory
        self.format = format
        self.retention = retention
    }
}

/// One venue database, with every setting resolved (venue > defaults > built-in).
public struct Venue: Sendable, Equatable {
    public var slug: String
    public var database: String
    /// Pooled URL for queries, `{slug}`/`{database}`/`${NAME}` already filled in. May hold a password.
    public var url: String
    /// Direct URL for pg_dump, restores and migrations; the pooled URL when not set.
    public var directURL: String
    /// Environment variable holding the password, when the fleet file names one.
    public var passwordEnv: String?
    public var tags: [String]
    public var enabled: Bool
    /// Per venue, per operation.
    public var timeout: Duration
    public var backup: BackupPolicy
    /// Server for `verify`'s scratch databases; the venue's own server (direct URL) when nil.
    public var scratchURL: String?
    /// Tables whose rows `sweep` counts (`verify.tables`).
    public var verifyTables: [String]
    /// A latest complete backup older than this is a `sweep` warning (`backup.max_age`).
    public var maxBackupAge: Duration
    public static let defaultVerifyTables = ["Order", "MenuItem"]
    public static let defaultMaxBackupAge = Duration.seconds(26 * 3600)
    /// Line of the venue's entry in the fleet file.
    public var line: Int?

    public init(slug: String, database: String, url: String, directURL: String? = nil, passwordEnv: String? = nil,
                tags: [String] = [], enabled: Bool = true, timeout: Duration = Fleet.defaultTimeout,
                backup: BackupPolicy, scratchURL: String? = nil, verifyTables: [String] = Venue.defaultVerifyTables,
                maxBackupAge: Duration = Venue.defaultMaxBackupAge, line: Int? = nil) {
        self.slug = slug
        self.database = database
        self.url = url
        self.directURL = directURL ?? url
        self.passwordEnv = passwordEnv
        self.tags = tags
        self.enabled = enabled
        self.timeout = timeout
        self.backup = backup
        self.scratchURL = scratchURL
        self.verifyTables = verifyTables
        self.maxBackupAge = maxBackupAge
        self.line = line
    }
}

/// A validated fleet file.
public struct Fleet: Sendable, Equatable {
    public static let defaultJobs = 4
    public static let defaultTimeout = Duration.seconds(30 * 60)

    /// Absolute path of the fleet file.
    public var path: String
    public var venues: [Venue]
    /// Venues worked on at once.
    public var jobs: Int
    /// Absolute directory where every command saves its JSON report.
    public var reportsDirectory: String

    public init(path: String, venues: [Venue], jobs: Int = Fleet.defaultJobs, reportsDirectory: String) {
        self.path = path
        self.venues = venues
        self.jobs = jobs
        self.reportsDirectory = reportsDirectory
    }

    /// The venues a command works on: all, or those named by `--venue` / carrying a `--tag`
    /// (a venue matching either is in). Disabled venues stay in the list, to be reported skipped.
    public func selecting(slugs: [String], tags: [String]) throws(SelectionError) -> [Venue] {
        let known = Set(venues.map(\.slug))
        let unknown = slugs.filter { !known.contains($0) }
        if !unknown.isEmpty { throw .unknownVenues(unknown, known: venues.map(\.slug)) }
        let unknownTags = tags.filter { tag in !venues.contains { $0.tags.contains(tag) } }
        if !unknownTags.isEmpty { throw .unknownTags(unknownTags) }
        if slugs.isEmpty && tags.isEmpty { return venues }
        return venues.filter { venue in
            slugs.contains(venue.slug) || venue.tags.contains { tags.contains($0) }
        }
    }
}

/// A `--venue` or `--tag` that matches nothing in the fleet file.
public enum SelectionError: Error, Sendable, CustomStringConvertible {
    case unknownVenues([String], known: [String])
    case unknownTags([String])

    public var description: String {
        switch self {
        case .unknownVenues(let slugs, let known):
            "no venue \(slugs.map { "`\($0)`" }.joined(separator: ", ")) in the fleet file (venues: \(known.joined(separator: ", ")))"
        case .unknownTags(let tags):
            "no venue is tagged \(tags.map { "`\($0)`" }.joined(separator: ", "))"
        }
    }
}

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

/// How a backup's bytes are compressed on their way to the file.
public enum BackupCompression: Sendable, Equatable, CustomStringConvertible {
    /// `pg_dump -Z0 | zstd -<level>`: much faster than pg_dump's zlib and smaller (the default, level 3).
    case zstd(level: Int)
    /// pg_dump's own `-Z <level>` (zlib): what pg_dump does without gwi-fleet.
    case gzip(level: Int)
    /// No compression at all (`-Z0`).
    case none

    public static let `default` = BackupCompression.zstd(level: 3)

    /// `zstd`, `zstd:19`, `gzip:6`, `none`; nil for anything else.
    public static func parse(_ text: String) -> BackupCompression? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard let name = parts.first, parts.count <= 2 else { return nil }
        let level = parts.count == 2 ? Int(parts[1]) : nil
        if parts.count == 2 && level == nil { return nil }
        switch name {
        case "zstd": return (1...19).contains(level ?? 3) ? .zstd(level: level ?? 3) : nil
        case "gzip": return (0...9).contains(level ?? 6) ? .gzip(level: level ?? 6) : nil
        case "none": return parts.count == 1 ? BackupCompression.none : nil
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .zstd(let level): "zstd:\(level)"
        case .gzip(let level): "gzip:\(level)"
        case .none: "none"
        }
    }
}

/// Backups encrypted with age (https://age-encryption.org) for these recipients. Only `verify`
/// and `restore` need an identity, from a file or an environment variable.
public struct BackupEncryption: Sendable, Equatable {
    /// `age1…` public keys (or `ssh-ed25519 …` lines).
    public var recipients: [String]
    /// A file of recipients, one per line (`#` comments), absolute.
    public var recipientsFile: String?
    /// The identity (private key) file, absolute.
    public var identityFile: String?
    /// An environment variable holding the identity.
    public var identityEnv: String?

    public init(recipients: [String] = [], recipientsFile: String? = nil, identityFile: String? = nil, identityEnv: String? = nil) {
        self.recipients = recipients
        self.recipientsFile = recipientsFile
        self.identityFile = identityFile
        self.identityEnv = identityEnv
    }
}

/// An off-site copy of every backup: any rclone remote (S3, GCS, Azure, SFTP, B2, …).
/// Credentials stay in rclone's own config or its `RCLONE_CONFIG_*` environment.
public struct RemotePolicy: Sendable, Equatable {
    /// `offsite:gwi-pos-backups/fleet`: rclone's remote and path; each venue below `<url>/<slug>/`.
    public var url: String
    /// The remote's own retention; the local one when nil.
    public var retention: RetentionPolicy?

    public init(url: String, retention: RetentionPolicy? = nil) {
        self.url = url
        self.retention = retention
    }
}

/// Where and how a venue's backups are written, and how long they are kept.
public struct BackupPolicy: Sendable, Equatable {
    /// Absolute directory; each venue writes below `<directory>/<slug>/`.
    public var directory: String
    public var format: BackupFormat
    public var retention: RetentionPolicy
    public var compression: BackupCompression
    /// Nil: stored unencrypted.
    public var encryption: BackupEncryption?
    /// Nil: no off-site copy.
    public var remote: RemotePolicy?

    public init(directory: String, format: BackupFormat = .custom, retention: RetentionPolicy = RetentionPolicy(),
                compression: BackupCompression = .default, encryption: BackupEncryption? = nil, remote: RemotePolicy? = nil) {
        self.remote = remote
        self.directory = directory
        self.format = format
        self.retention = retention
        self.compression = compression
        self.encryption = encryption
    }
}

/// What a venue's database is to the product.
public enum VenueKind: String, Sendable, Codable, CaseIterable {
    /// One venue's point-of-sale database.
    case venue
    /// The product's master database (`gwi_pos`, with the venue registry). Backed up, verified,
    /// checked and sized like a venue; left out of exec, export, counts and query unless named
    /// with `--venue`, and sweep does not count `verify.tables` in it.
    case master
}

/// One venue database, with every setting resolved (venue > defaults > built-in).
public struct Venue: Sendable, Equatable {
    public var slug: String
    public var kind: VenueKind
    /// Where the venue came from, for `validate`: `fleet file line 12`, `registry`,
    /// `registry, overridden at line 12`, `server databases`.
    public var origin: String
    /// Set when this run leaves the venue out (a master database under exec); it is reported skipped.
    public var skipReason: String?
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
    /// At most this long per venue per operation (and for `timeout` values in the fleet file).
    public static let maximumTimeout = Duration.seconds(7 * 86_400)
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
                maxBackupAge: Duration = Venue.defaultMaxBackupAge, line: Int? = nil, kind: VenueKind = .venue,
                origin: String = "fleet file") {
        self.slug = slug
        self.kind = kind
        self.origin = origin
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

/// Where venues are found besides the fleet file's list (`discover:`).
public struct DiscoverySettings: Sendable, Equatable {
    /// The product's registry table in the master database.
    public struct Registry: Sendable, Equatable {
        public static let defaultQuery =
            #"SELECT slug, database_name AS database, is_active AS enabled FROM "_cron_venue_registry""#
        public var url: String
        public var query: String
        public var passwordEnv: String?
        public var line: Int?

        public init(url: String, query: String = Registry.defaultQuery, passwordEnv: String? = nil, line: Int? = nil) {
            self.url = url
            self.query = query
            self.passwordEnv = passwordEnv
            self.line = line
        }
    }

    /// Every database on a server whose name matches `include` and none of `exclude` (LIKE patterns).
    public struct ServerDatabases: Sendable, Equatable {
        public static let defaultInclude = ["gwi_pos_%"]
        public static let defaultExclude = ["gwi_pos", "%\\_\\_replaced\\_%", "%\\_\\_restoring\\_%", "gwi\\_verify\\_%"]
        public var url: String
        public var include: [String]
        public var exclude: [String]
        public var passwordEnv: String?
        public var line: Int?

        public init(url: String, include: [String] = ServerDatabases.defaultInclude,
                    exclude: [String] = ServerDatabases.defaultExclude, passwordEnv: String? = nil, line: Int? = nil) {
            self.url = url
            self.include = include
            self.exclude = exclude
            self.passwordEnv = passwordEnv
            self.line = line
        }
    }

    public var registry: Registry?
    public var databases: ServerDatabases?

    public init(registry: Registry? = nil, databases: ServerDatabases? = nil) {
        self.registry = registry
        self.databases = databases
    }

    /// `registry`, `server databases` or both, for messages and reports.
    public var source: String {
        [registry.map { _ in "registry" }, databases.map { _ in "server databases" }].compactMap { $0 }.joined(separator: " + ")
    }
}

/// What "healthy" means (`policy:`): `status` judges every venue against it.
public struct HealthPolicy: Sendable, Equatable {
    /// A complete backup at least this recent.
    public var maxBackupAge: Duration
    /// A verified (restore-tested) backup at least this recent.
    public var maxVerifyAge: Duration
    /// The latest backup copied off-site (only where a remote is configured).
    public var requireOffsite: Bool

    public init(maxBackupAge: Duration = .seconds(26 * 3600), maxVerifyAge: Duration = .seconds(8 * 86_400), requireOffsite: Bool = true) {
        self.maxBackupAge = maxBackupAge
        self.maxVerifyAge = maxVerifyAge
        self.requireOffsite = requireOffsite
    }
}

/// A validated fleet file.
public struct Fleet: Sendable, Equatable {
    public static let defaultJobs = 4
    public static let maximumJobs = 1024
    public static let defaultTimeout = Duration.seconds(30 * 60)

    /// Absolute path of the fleet file.
    public var path: String
    public var venues: [Venue]
    /// Venues worked on at once.
    public var jobs: Int
    /// Absolute directory where every command saves its JSON report.
    public var reportsDirectory: String
    /// Where more venues are found (`discover:`); nil when the list is all there is.
    public var discovery: DiscoverySettings?
    /// Databases that match the coverage patterns but are deliberately in no venue (`ignore:`):
    /// names or LIKE patterns.
    public var ignore: [String]
    /// Where each run's outcome is sent (`notify:`).
    public var notify: [NotifyTarget] = []
    /// Reports older than this many days are deleted after each run (`reports.keep_days`).
    public var reportsKeepDays = Fleet.defaultReportsKeepDays
    public static let defaultReportsKeepDays = 90
    /// What "healthy" means for `status` (`policy:`).
    public var policy = HealthPolicy()
    /// node_exporter's textfile collector file (`metrics.textfile`), absolute.
    public var metricsTextfile: String?
    /// A Prometheus Pushgateway to push the same metrics to (`metrics.pushgateway`).
    public var metricsPushgateway: String?
    /// What the file said, kept so discovered venues resolve exactly as listed ones do.
    public var defaults: VenueSettings
    public var entries: [VenueEntry]

    public init(path: String, venues: [Venue], jobs: Int = Fleet.defaultJobs, reportsDirectory: String,
                discovery: DiscoverySettings? = nil, ignore: [String] = [], defaults: VenueSettings = VenueSettings(),
                entries: [VenueEntry] = []) {
        self.path = path
        self.venues = venues
        self.jobs = jobs
        self.reportsDirectory = reportsDirectory
        self.discovery = discovery
        self.ignore = ignore
        self.defaults = defaults
        self.entries = entries
    }

    /// The LIKE patterns of databases that should each belong to a venue (coverage).
    public var coveragePatterns: [String] { discovery?.databases?.include ?? DiscoverySettings.ServerDatabases.defaultInclude }

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

import Foundation

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
    /// `verify.scratch.neon`: the scratch databases go on a Neon branch made for each verify run.
    public var scratchNeon: NeonSettings?
    /// Tables whose rows `sweep` counts (`verify.tables`).
    public var verifyTables: [String]
    /// `verify.no_owner`: restore tests leave out owners, grants and tablespaces, so a scratch
    /// server without the dump's roles or tablespaces can still test it.
    public var verifyNoOwner: Bool
    /// A latest complete backup older than this is a `sweep` warning (`backup.max_age`).
    public var maxBackupAge: Duration
    public static let defaultVerifyTables = ["Order", "MenuItem"]
    public static let defaultMaxBackupAge = Duration.seconds(26 * 3600)
    /// Line of the venue's entry in the fleet file.
    public var line: Int?
    /// Point-in-time recovery (`pitr:`), when the venue's server is archived or on Neon.
    public var pitr: PITRPolicy?

    public init(slug: String, database: String, url: String, directURL: String? = nil, passwordEnv: String? = nil,
                tags: [String] = [], enabled: Bool = true, timeout: Duration = Fleet.defaultTimeout,
                backup: BackupPolicy, scratchURL: String? = nil, verifyTables: [String] = Venue.defaultVerifyTables, verifyNoOwner: Bool = false,
                maxBackupAge: Duration = Venue.defaultMaxBackupAge, line: Int? = nil, kind: VenueKind = .venue,
                pitr: PITRPolicy? = nil, origin: String = "fleet file", scratchNeon: NeonSettings? = nil) {
        self.pitr = pitr
        self.scratchNeon = scratchNeon
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
        self.verifyNoOwner = verifyNoOwner
        self.maxBackupAge = maxBackupAge
        self.line = line
    }
}

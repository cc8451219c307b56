import Foundation

/// Settings a venue may set itself or inherit from `defaults:`; nil means "not said here".
public struct VenueSettings: Sendable, Equatable {
    public var url: String?
    /// True when `url` was written, even if it could not be used.
    public var urlWritten = false
    public var directURL: String?
    public var passwordEnv: String?
    public var timeout: Duration?
    public var backupDirectory: String?
    public var backupFormat: BackupFormat?
    public var compression: BackupCompression?
    public var encryption: BackupEncryption?
    public var remote: RemotePolicy?
    public var keepDays: Int?
    public var keepMin: Int?
    public var keepCalendar = RetentionPolicy.Calendar()
    public var maxAge: Duration?
    public var scratchURL: String?
    public var scratchNeon: NeonSettings?
    public var verifyTables: [String]?
    public var verifyNoOwner: Bool?
    public var pitr: PITRPolicy?

    public init(url: String? = nil, directURL: String? = nil) {
        self.url = url
        self.urlWritten = url != nil
        self.directURL = directURL
    }

    /// These settings where said, `base` elsewhere: key by key, as the fleet file's key tables say.
    public func over(_ base: VenueSettings) -> VenueSettings {
        var result = self
        for key in SettingKey.venue { key.inherit(&result, base) }
        return result
    }
}

/// One venue as a source described it, before defaults: an entry of the fleet file's `venues:`,
/// or a row found by discovery. Only what was said is set.
public struct VenueEntry: Sendable, Equatable {
    public var slug: String
    /// A database name or template (`{slug}`, `{slug_}`).
    public var database: String?
    public var tags: [String]?
    public var enabled: Bool?
    public var kind: VenueKind?
    public var settings: VenueSettings
    /// Line in the fleet file, for listed entries.
    public var line: Int?
    /// `fleet file`, `registry`, `server databases`.
    public var origin: String

    public init(slug: String, database: String? = nil, tags: [String]? = nil, enabled: Bool? = nil, kind: VenueKind? = nil,
                settings: VenueSettings = VenueSettings(), line: Int? = nil, origin: String) {
        self.slug = slug
        self.database = database
        self.tags = tags
        self.enabled = enabled
        self.kind = kind
        self.settings = settings
        self.line = line
        self.origin = origin
    }

    /// A discovered entry with what the fleet file's entry of the same slug says on top of it.
    public func overridden(by listed: VenueEntry) -> VenueEntry {
        VenueEntry(slug: slug, database: listed.database ?? database, tags: listed.tags ?? tags, enabled: listed.enabled ?? enabled,
                   kind: listed.kind ?? kind, settings: listed.settings.over(settings), line: listed.line,
                   origin: origin + (listed.line.map { ", overridden at line \($0)" } ?? ", overridden in the fleet file"))
    }
}

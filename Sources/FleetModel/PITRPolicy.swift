import Foundation

/// Point-in-time recovery of a venue (`pitr:`): exactly one provider.
public enum PITRPolicy: Sendable, Equatable {
    /// A server whose WAL and base backups pgBackRest archives.
    case pgbackrest(PgBackRestSettings)
    /// A Neon project: a branch made at the moment, with a read-only endpoint.
    case neon(NeonSettings)

    public var provider: String {
        switch self {
        case .pgbackrest: "pgbackrest"
        case .neon: "neon"
        }
    }
}

/// `pitr.pgbackrest`.
public struct PgBackRestSettings: Sendable, Equatable {
    public var stanza: String
    /// pgBackRest's configuration file; its own default when nil.
    public var config: String?
    /// Where the one-database recovery is made; `$TMPDIR` when nil.
    public var scratchDirectory: String?

    public init(stanza: String, config: String? = nil, scratchDirectory: String? = nil) {
        self.stanza = stanza
        self.config = config
        self.scratchDirectory = scratchDirectory
    }
}

/// `pitr.neon`.
public struct NeonSettings: Sendable, Equatable {
    public static let defaultAPIURL = "https://console.neon.tech/api/v2"
    public var projectID: String
    /// The branch the venue databases live on; the project's default branch when nil.
    public var branch: String?
    /// The environment variable holding the API key (read when used, never stored).
    public var apiKeyEnv: String
    public var apiURL: String

    public init(projectID: String, branch: String? = nil, apiKeyEnv: String, apiURL: String = NeonSettings.defaultAPIURL) {
        self.projectID = projectID
        self.branch = branch
        self.apiKeyEnv = apiKeyEnv
        self.apiURL = apiURL
    }
}

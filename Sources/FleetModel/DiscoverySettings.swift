import Foundation

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
    /// A discovery finding more than this share (in percent) of the saved list's venues gone is a
    /// problem of the run (`discover.max_shrink`): venues dropped from a registry stop being backed up.
    public var maxShrinkPercent: Double = DiscoverySettings.defaultMaxShrinkPercent
    public static let defaultMaxShrinkPercent = 10.0

    public init(registry: Registry? = nil, databases: ServerDatabases? = nil) {
        self.registry = registry
        self.databases = databases
    }

    /// `registry`, `server databases` or both, for messages and reports.
    public var source: String {
        [registry.map { _ in "registry" }, databases.map { _ in "server databases" }].compactMap { $0 }.joined(separator: " + ")
    }
}

/// `check` on one venue: the server, the database's size, and whether the local pg_dump can dump it.
public struct CheckResult: VenueResult {
    public static let command = "check"
    public var serverVersion: String
    public var databaseBytes: Int
    public var pgDumpVersion: String
    public var pgDumpCompatible: Bool

    public init(serverVersion: String, databaseBytes: Int, pgDumpVersion: String, pgDumpCompatible: Bool) {
        self.serverVersion = serverVersion
        self.databaseBytes = databaseBytes
        self.pgDumpVersion = pgDumpVersion
        self.pgDumpCompatible = pgDumpCompatible
    }

    public var summary: String {
        "PostgreSQL \(serverVersion), \(ByteCount.human(databaseBytes)), pg_dump \(pgDumpVersion) \(pgDumpCompatible ? "ok" : "too old")"
    }

    enum CodingKeys: String, CodingKey {
        case serverVersion = "server_version", databaseBytes = "database_bytes", pgDumpVersion = "pg_dump_version"
        case pgDumpCompatible = "pg_dump_compatible"
        /// Schema 2's name for `database_bytes`.
        case databaseSizeBytes = "database_size_bytes"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(serverVersion: try container.decode(String.self, forKey: .serverVersion),
                  databaseBytes: try container.decodeIfPresent(Int.self, forKey: .databaseBytes)
                      ?? container.decode(Int.self, forKey: .databaseSizeBytes),
                  pgDumpVersion: try container.decode(String.self, forKey: .pgDumpVersion),
                  pgDumpCompatible: try container.decode(Bool.self, forKey: .pgDumpCompatible))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(serverVersion, forKey: .serverVersion)
        try container.encode(databaseBytes, forKey: .databaseBytes)
        try container.encode(pgDumpVersion, forKey: .pgDumpVersion)
        try container.encode(pgDumpCompatible, forKey: .pgDumpCompatible)
    }
}

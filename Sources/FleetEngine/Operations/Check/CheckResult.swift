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
    }
}

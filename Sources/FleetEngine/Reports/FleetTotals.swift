/// What a run adds over the whole fleet once every venue is done (`fleet_totals` in the report):
/// the coverage of `check`, `backup` and `sweep`, `sizes`' totals, a combined export's file.
public struct FleetTotals: Sendable, Equatable, Codable {
    /// Per server: databases no venue covers, and what gwi-fleet left behind.
    public var coverage: [Coverage.Server]?
    /// `sizes`: every database's bytes added up, and the largest tables across the fleet.
    public var databaseBytes: Int?
    public var largestTables: [SizesResult.FleetTable]?
    /// `export --combined`: the file and its bytes, or why it was not written.
    public var combinedFile: String?
    public var bytes: Int?
    public var error: String?

    public init(coverage: [Coverage.Server]? = nil, databaseBytes: Int? = nil, largestTables: [SizesResult.FleetTable]? = nil,
                combinedFile: String? = nil, bytes: Int? = nil, error: String? = nil) {
        self.coverage = coverage
        self.databaseBytes = databaseBytes
        self.largestTables = largestTables
        self.combinedFile = combinedFile
        self.bytes = bytes
        self.error = error
    }

    public var isEmpty: Bool { self == FleetTotals() }

    enum CodingKeys: String, CodingKey {
        case coverage, databaseBytes = "database_bytes", largestTables = "largest_tables", combinedFile = "combined_file", bytes, error
    }
}

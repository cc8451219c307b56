/// `sizes` on one venue: the database's size and its largest tables.
public struct SizesResult: VenueResult {
    public static let command = "sizes"

    /// One table's bytes: all of it, the table, its indexes, its TOAST.
    public struct Table: Sendable, Equatable, Codable {
        public var table: String
        public var totalBytes: Int
        public var tableBytes: Int
        public var indexBytes: Int
        public var toastBytes: Int

        public init(table: String, totalBytes: Int, tableBytes: Int, indexBytes: Int, toastBytes: Int) {
            self.table = table
            self.totalBytes = totalBytes
            self.tableBytes = tableBytes
            self.indexBytes = indexBytes
            self.toastBytes = toastBytes
        }

        enum CodingKeys: String, CodingKey {
            case table, totalBytes = "total_bytes", tableBytes = "table_bytes", indexBytes = "index_bytes", toastBytes = "toast_bytes"
        }
    }

    /// A table among the fleet's largest, with its venue.
    public struct FleetTable: Sendable, Equatable, Codable {
        public var venue: String
        public var table: Table

        public init(venue: String, table: Table) {
            self.venue = venue
            self.table = table
        }

        enum CodingKeys: String, CodingKey { case venue }

        public init(from decoder: Decoder) throws {
            venue = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .venue)
            table = try Table(from: decoder)
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(venue, forKey: .venue)
            try table.encode(to: encoder)
        }
    }

    public var databaseBytes: Int
    public var largestTables: [Table]

    public init(databaseBytes: Int, largestTables: [Table]) {
        self.databaseBytes = databaseBytes
        self.largestTables = largestTables
    }

    public var summary: String {
        ByteCount.human(databaseBytes) + (largestTables.first.map { " (largest \($0.table): \(ByteCount.human($0.totalBytes)))" } ?? "")
    }

    enum CodingKeys: String, CodingKey { case databaseBytes = "database_bytes", largestTables = "largest_tables" }
}

/// `query` on one venue: the statement's columns and rows (text, or null).
public struct QueryRowsResult: VenueResult {
    public static let command = "query"
    public var columns: [String]
    public var rows: [[String?]]

    public init(columns: [String], rows: [[String?]]) {
        self.columns = columns
        self.rows = rows
    }

    public var rowCount: Int { rows.count }
    public var summary: String { rows.count == 1 ? "1 row" : "\(rows.count) rows" }

    enum CodingKeys: String, CodingKey { case columns, rowCount = "row_count", rows }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(columns: try container.decode([String].self, forKey: .columns), rows: try container.decode([[String?]].self, forKey: .rows))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(columns, forKey: .columns)
        try container.encode(rowCount, forKey: .rowCount)
        try container.encode(rows, forKey: .rows)
    }
}

/// `export` on one venue: the CSV written (or its part of the combined file) and its columns.
public struct ExportResult: VenueResult {
    public static let command = "export"
    public var file: String
    /// Bytes written (after gzip when asked), and of the CSV itself.
    public var bytes: Int
    public var csvBytes: Int
    /// The columns this venue's schema gave the export: a combined file needs them to agree.
    public var columns: [String]
    public var summary: String

    public init(file: String, bytes: Int, csvBytes: Int, columns: [String], summary: String = "") {
        self.file = file
        self.bytes = bytes
        self.csvBytes = csvBytes
        self.columns = columns
        self.summary = summary
    }

    enum CodingKeys: String, CodingKey { case file, bytes, csvBytes = "csv_bytes", columns }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(file: try container.decode(String.self, forKey: .file), bytes: try container.decode(Int.self, forKey: .bytes),
                  csvBytes: try container.decodeIfPresent(Int.self, forKey: .csvBytes) ?? 0,
                  columns: try container.decodeIfPresent([String].self, forKey: .columns) ?? [])
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(file, forKey: .file)
        try container.encode(bytes, forKey: .bytes)
        try container.encode(csvBytes, forKey: .csvBytes)
        try container.encode(columns, forKey: .columns)
    }
}

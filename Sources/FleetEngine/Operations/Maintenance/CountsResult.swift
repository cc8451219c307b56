/// `counts` on one venue: exact row counts, with the drift from the latest restore point.
public struct CountsResult: VenueResult {
    public static let command = "counts"

    /// One table now and in the backup: drift is rows now minus rows in the backup.
    public struct Table: Sendable, Equatable, Codable {
        public var table: String
        public var rows: Int
        public var backupRows: Int?
        public var drift: Int?

        public init(table: String, rows: Int, backup: BackupManifest?) {
            self.table = table
            self.rows = rows
            backupRows = backup?.rowCounts[table]
            drift = backupRows.map { rows - $0 }
        }

        enum CodingKeys: String, CodingKey { case table, rows, backupRows = "backup_rows", drift }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(table, forKey: .table)
            try container.encode(rows, forKey: .rows)
            try container.encode(backupRows, forKey: .backupRows)
            try container.encode(drift, forKey: .drift)
        }
    }

    /// The backup compared against; nil when there is none.
    public var backup: String?
    public var counts: [Table]

    public init(backup: String?, counts: [Table]) {
        self.backup = backup
        self.counts = counts
    }

    public var summary: String {
        "\(counts.count) tables, \(counts.map(\.rows).reduce(0, +)) rows"
            + (backup.map { " (drift since backup \($0))" } ?? " (no backup to compare)")
    }

    enum CodingKeys: String, CodingKey { case backup, counts }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(backup, forKey: .backup)
        try container.encode(counts, forKey: .counts)
    }
}

/// What a run adds over the whole fleet once every venue is done (`fleet_totals` in the report):
/// the coverage of `check`, `backup` and `sweep`, `check`'s archives and recovery windows,
/// `sizes`' totals, a combined export's file.
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
    /// `check`: `pgbackrest check` of each stanza the venues' `pitr:` names.
    public var archives: [ArchiveCheck.Stanza]?
    /// `check`: the point-in-time recovery window of each `pitr:` venue (by slug), read after the
    /// stanzas were checked: what the metrics and `compliance` know of the archive.
    public var pitr: [String: PITRStatus]?

    public init(coverage: [Coverage.Server]? = nil, archives: [ArchiveCheck.Stanza]? = nil, pitr: [String: PITRStatus]? = nil,
                databaseBytes: Int? = nil, largestTables: [SizesResult.FleetTable]? = nil,
                combinedFile: String? = nil, bytes: Int? = nil, error: String? = nil) {
        self.coverage = coverage
        self.archives = archives
        self.pitr = pitr
        self.databaseBytes = databaseBytes
        self.largestTables = largestTables
        self.combinedFile = combinedFile
        self.bytes = bytes
        self.error = error
    }

    public var isEmpty: Bool { self == FleetTotals() }

    /// Two conclusions' totals as one (each sets its own fields).
    public func adding(_ other: FleetTotals) -> FleetTotals {
        var result = self
        result.coverage = coverage ?? other.coverage
        result.archives = archives ?? other.archives
        result.pitr = pitr ?? other.pitr
        result.databaseBytes = databaseBytes ?? other.databaseBytes
        result.largestTables = largestTables ?? other.largestTables
        result.combinedFile = combinedFile ?? other.combinedFile
        result.bytes = bytes ?? other.bytes
        result.error = error ?? other.error
        return result
    }

    /// The totals of a split run's shards as one: database bytes added up, the largest tables of
    /// all shards (as many as each kept), coverage (shard 0 checks it) and a combined file as found.
    public static func merged(_ shards: [FleetTotals]) -> FleetTotals {
        let sizes = shards.compactMap(\.databaseBytes)
        let tables = shards.compactMap(\.largestTables)
        let top = tables.map(\.count).max() ?? 0
        return FleetTotals(
            coverage: shards.lazy.compactMap(\.coverage).first,
            archives: shards.contains { $0.archives != nil } ? shards.flatMap { $0.archives ?? [] } : nil,
            pitr: shards.contains { $0.pitr != nil }
                ? shards.reduce(into: [:]) { windows, shard in windows.merge(shard.pitr ?? [:]) { first, _ in first } } : nil,
            databaseBytes: sizes.isEmpty ? nil : sizes.reduce(0, +),
            largestTables: tables.isEmpty ? nil : Array(tables.joined().sorted {
                ($0.table.totalBytes, $1.venue, $1.table.table) > ($1.table.totalBytes, $0.venue, $0.table.table)
            }.prefix(top)),
            combinedFile: shards.lazy.compactMap(\.combinedFile).first, bytes: shards.lazy.compactMap(\.bytes).first,
            error: shards.lazy.compactMap(\.error).first)
    }

    enum CodingKeys: String, CodingKey {
        case coverage, archives, pitr, databaseBytes = "database_bytes", largestTables = "largest_tables", combinedFile = "combined_file", bytes, error
    }
}

/// `sweep` on one venue: analyze (or vacuum), sizes, counts of `verify.tables`, the latest
/// restore point's age, and the warnings that make the venue's verdict.
public struct SweepResult: VenueResult {
    public static let command = "sweep"

    /// The latest restore point against `backup.max_age`.
    public struct Backup: Sendable, Equatable, Codable {
        public var verdict: String
        public var file: String?
        public var ageSeconds: Int?
        public var maxAgeSeconds: Int

        public init(verdict: String, file: String?, ageSeconds: Int?, maxAgeSeconds: Int) {
            self.verdict = verdict
            self.file = file
            self.ageSeconds = ageSeconds
            self.maxAgeSeconds = maxAgeSeconds
        }

        enum CodingKeys: String, CodingKey { case verdict, file, ageSeconds = "age_seconds", maxAgeSeconds = "max_age_seconds" }
    }

    public var statement: String
    public var statementMS: Int
    public var databaseBytes: Int
    /// Since the previous sweep; nil on the first.
    public var growthBytes: Int?
    public var largestTables: [SizesResult.Table]
    public var counts: [CountsResult.Table]
    public var backup: Backup
    public var deadTuples: Int
    public var highDeadTables: [AnalyzeResult.DeadTable]
    public var oldestLastAnalyze: String?
    public var oldestLastVacuum: String?
    public var neverVacuumedTables: [String]
    public var summary: String
    public var warnings: [String]

    public init(statement: String, statementMS: Int, databaseBytes: Int, growthBytes: Int?, largestTables: [SizesResult.Table],
                counts: [CountsResult.Table], backup: Backup, deadTuples: Int, highDeadTables: [AnalyzeResult.DeadTable],
                oldestLastAnalyze: String?, oldestLastVacuum: String?, neverVacuumedTables: [String], summary: String = "",
                warnings: [String] = []) {
        self.statement = statement
        self.statementMS = statementMS
        self.databaseBytes = databaseBytes
        self.growthBytes = growthBytes
        self.largestTables = largestTables
        self.counts = counts
        self.backup = backup
        self.deadTuples = deadTuples
        self.highDeadTables = highDeadTables
        self.oldestLastAnalyze = oldestLastAnalyze
        self.oldestLastVacuum = oldestLastVacuum
        self.neverVacuumedTables = neverVacuumedTables
        self.summary = summary
        self.warnings = warnings
    }

    enum CodingKeys: String, CodingKey {
        case statement, statementMS = "statement_ms", databaseBytes = "database_bytes", growthBytes = "growth_bytes"
        case largestTables = "largest_tables", counts, backup, deadTuples = "dead_tuples", highDeadTables = "high_dead_tables"
        case oldestLastAnalyze = "oldest_last_analyze", oldestLastVacuum = "oldest_last_vacuum"
        case neverVacuumedTables = "never_vacuumed_tables"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(statement: try container.decode(String.self, forKey: .statement),
                  statementMS: try container.decodeIfPresent(Int.self, forKey: .statementMS) ?? 0,
                  databaseBytes: try container.decode(Int.self, forKey: .databaseBytes),
                  growthBytes: try container.decodeIfPresent(Int.self, forKey: .growthBytes),
                  largestTables: try container.decodeIfPresent([SizesResult.Table].self, forKey: .largestTables) ?? [],
                  counts: try container.decodeIfPresent([CountsResult.Table].self, forKey: .counts) ?? [],
                  backup: try container.decode(Backup.self, forKey: .backup),
                  deadTuples: try container.decodeIfPresent(Int.self, forKey: .deadTuples) ?? 0,
                  highDeadTables: try container.decodeIfPresent([AnalyzeResult.DeadTable].self, forKey: .highDeadTables) ?? [],
                  oldestLastAnalyze: try container.decodeIfPresent(String.self, forKey: .oldestLastAnalyze),
                  oldestLastVacuum: try container.decodeIfPresent(String.self, forKey: .oldestLastVacuum),
                  neverVacuumedTables: try container.decodeIfPresent([String].self, forKey: .neverVacuumedTables) ?? [])
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(statement, forKey: .statement)
        try container.encode(statementMS, forKey: .statementMS)
        try container.encode(databaseBytes, forKey: .databaseBytes)
        try container.encode(growthBytes, forKey: .growthBytes)
        try container.encode(largestTables, forKey: .largestTables)
        try container.encode(counts, forKey: .counts)
        try container.encode(backup, forKey: .backup)
        try container.encode(deadTuples, forKey: .deadTuples)
        try container.encode(highDeadTables, forKey: .highDeadTables)
        try container.encode(oldestLastAnalyze, forKey: .oldestLastAnalyze)
        try container.encode(oldestLastVacuum, forKey: .oldestLastVacuum)
        try container.encode(neverVacuumedTables, forKey: .neverVacuumedTables)
    }
}

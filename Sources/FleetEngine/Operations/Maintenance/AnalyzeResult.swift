/// `analyze [--vacuum]` on one venue: the statement, how long it took, and the tables that had many dead tuples.
public struct AnalyzeResult: VenueResult {
    public static let command = "analyze"

    /// A table's live and dead tuples, as `pg_stat_user_tables` counted them.
    public struct DeadTable: Sendable, Equatable, Codable {
        public var table: String
        public var liveTuples: Int
        public var deadTuples: Int
        /// Dead over live + dead, to three places.
        public var deadShare: Double

        public init(table: String, liveTuples: Int, deadTuples: Int, deadShare: Double) {
            self.table = table
            self.liveTuples = liveTuples
            self.deadTuples = deadTuples
            self.deadShare = deadShare
        }

        enum CodingKeys: String, CodingKey { case table, liveTuples = "live_tuples", deadTuples = "dead_tuples", deadShare = "dead_share" }
    }

    public var statement: String
    public var tables: Int
    public var statementMS: Int
    public var highDeadTablesBefore: [DeadTable]

    public init(statement: String, tables: Int, statementMS: Int, highDeadTablesBefore: [DeadTable]) {
        self.statement = statement
        self.tables = tables
        self.statementMS = statementMS
        self.highDeadTablesBefore = highDeadTablesBefore
    }

    public var summary: String {
        var text = "\(statement) of \(tables) tables in \(String(format: "%.1f", Double(statementMS) / 1000))s"
        if !highDeadTablesBefore.isEmpty {
            text += "; high dead tuples before: " + highDeadTablesBefore.map { "\($0.table) \(Int($0.deadShare * 100))%" }.joined(separator: ", ")
        }
        return text
    }

    enum CodingKeys: String, CodingKey {
        case statement, tables, statementMS = "statement_ms", highDeadTablesBefore = "high_dead_tables_before"
    }
}

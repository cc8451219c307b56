import FleetModel
import Foundation
import PostgresClient

/// One row of `pg_stat_user_tables`, as `analyze` and `sweep` report it.
struct TableStats: Sendable {
    var table: String
    var live: Int
    var dead: Int
    var lastVacuum: String?
    var lastAnalyze: String?

    var deadShare: Double { live + dead == 0 ? 0 : Double(dead) / Double(live + dead) }

    static let sql = """
        SELECT schemaname || '.' || relname, n_live_tup, n_dead_tup,
               greatest(last_vacuum, last_autovacuum), greatest(last_analyze, last_autoanalyze)
        FROM pg_stat_user_tables ORDER BY 1
        """

    static func read(on connection: PostgresConnection) async throws -> [TableStats] {
        try await connection.query(sql).rows.map { row in
            TableStats(table: row[0] ?? "?", live: row[1].flatMap { Int($0) } ?? 0, dead: row[2].flatMap { Int($0) } ?? 0,
                       lastVacuum: row[3], lastAnalyze: row[4])
        }
    }

    /// Tables with at least 1,000 dead tuples making up 10% or more of the table.
    static func highDead(_ stats: [TableStats]) -> [TableStats] {
        stats.filter { $0.dead >= 1000 && $0.deadShare >= 0.10 }
    }

    var deadTable: AnalyzeResult.DeadTable {
        AnalyzeResult.DeadTable(table: table, liveTuples: live, deadTuples: dead, deadShare: (deadShare * 1000).rounded() / 1000)
    }
}

import FleetModel
import PostgresClient

/// `gwi-fleet query "SQL"` on one venue: one statement inside `BEGIN READ ONLY`, rolled back.
public struct QueryOperation: Sendable {
    public var sql: String
    /// `--role`: `SET ROLE` to this (least-privileged) role inside the read-only transaction.
    public var role: String?
    public var connector: VenueConnector

    public init(sql: String, role: String? = nil, connector: VenueConnector = VenueConnector()) {
        self.sql = sql
        self.role = role
        self.connector = connector
    }

    public func run(_ venue: Venue) async throws -> QueryRowsResult {
        let connection = try await connector.connect(venue, .pooled)
        do {
            try await connection.execute("BEGIN READ ONLY" + (role.map { "; SET LOCAL ROLE \(SQLQuoting.identifier($0))" } ?? ""))
            let result = try await connection.query(sql)
            try await connection.execute("ROLLBACK")
            return QueryRowsResult(columns: result.columns, rows: result.rows)
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "query", error)
        }
    }
}

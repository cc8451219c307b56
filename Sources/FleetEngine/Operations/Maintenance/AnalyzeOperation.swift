import FleetModel
import Foundation
import PostgresClient

/// `gwi-fleet analyze [--vacuum]`: ANALYZE or VACUUM (ANALYZE) on one venue.
public struct AnalyzeOperation: Sendable {
    public var vacuum: Bool
    public var connector: VenueConnector

    public init(vacuum: Bool = false, connector: VenueConnector = VenueConnector()) {
        self.vacuum = vacuum
        self.connector = connector
    }

    public func run(_ venue: Venue) async throws -> AnalyzeResult {
        let connection = try await MaintenanceSession.open(venue, connector: connector, timeout: venue.timeout)
        let (statement, before, milliseconds) = try await Self.analyze(on: connection, vacuum: vacuum)
        return AnalyzeResult(statement: statement, tables: before.count, statementMS: milliseconds,
                             highDeadTablesBefore: TableStats.highDead(before).map(\.deadTable))
    }

    /// Runs ANALYZE or VACUUM (ANALYZE); returns the statement, the table statistics from before, and its milliseconds.
    static func analyze(on connection: PostgresConnection, vacuum: Bool) async throws -> (String, [TableStats], Int) {
        let statement = vacuum ? "VACUUM (ANALYZE)" : "ANALYZE"
        let before: [TableStats]
        do {
            before = try await TableStats.read(on: connection)
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "read pg_stat_user_tables", error)
        }
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try await connection.execute(statement)
        } catch let error as PostgresError {
            throw MaintenanceSession.describe(error, step: statement)
        }
        let elapsed = clock.now - start
        return (statement, before, elapsed.milliseconds)
    }
}

import FleetModel
import Foundation
import PostgresClient

/// Session settings for maintenance work: a venue holding a long lock fails alone, with a clear
/// message, well before the runner's own timeout.
enum MaintenanceSession {
    /// lock_timeout: half the venue timeout, at most a minute; statement_timeout: 90% of it.
    static func limits(for timeout: Duration) -> (lock: Int, statement: Int) {
        let milliseconds = timeout.milliseconds
        // statement_timeout is an int of milliseconds on the server: clamp, whatever the venue says.
        return (max(1, min(milliseconds / 2, 60_000)), max(1, min(milliseconds / 10 * 9, Int(Int32.max))))
    }

    static func open(_ venue: Venue, connector: VenueConnector, timeout: Duration) async throws -> PostgresConnection {
        let connection = try await connector.connect(venue, .direct)
        let (lock, statement) = limits(for: timeout)
        do {
            try await connection.execute("SET lock_timeout = \(lock); SET statement_timeout = \(statement)")
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "set timeouts", error)
        }
        return connection
    }

    /// Turns a lock or statement timeout into a message that says what happened and what to do.
    static func describe(_ error: PostgresError, step: String) -> FleetEngineError {
        switch error.sqlState {
        case "55P03":
            .refused(VenueError(step: step, "lock timeout: another session holds a conflicting lock (see pg_locks / pg_stat_activity); nothing was changed"))
        case "57014":
            .refused(VenueError(step: step, "statement timeout: the statement ran longer than this venue's timeout allows"))
        default:
            .database(step: step, error)
        }
    }
}

import FleetModel
import PostgresClient

/// Why work on a venue failed. Every message names the step and says what to do next; none
/// carries a password (PostgreSQL messages are passed through, connection strings are redacted).
public enum FleetEngineError: Error, Sendable, CustomStringConvertible {
    case timedOut(Duration)
    case interrupted
    case locked(path: String)
    case connection(step: String, PostgresError)
    case database(step: String, PostgresError)
    case toolMissing(String)
    case toolFailed(tool: String, status: String, message: String)
    case toolTooOld(tool: String, toolMajor: Int, serverMajor: Int)
    case file(path: String, operation: String, errno: Int32)
    case invalidURL(key: String, PostgresError)
    case backupNotFound(VenueError)
    case verificationFailed(VenueError)
    case refused(VenueError)
    /// Tables named (in `verify.tables` or `--table`) that the database does not have.
    case noSuchTable([String])

    public var description: String { venueError.description }

    /// The error as its step, cause and hint.
    public var venueError: VenueError {
        switch self {
        case .timedOut(let limit):
            VenueError("timed out after \(FleetDuration.format(limit))", hint: "raise `timeout` for this venue or pass --timeout")
        case .interrupted:
            VenueError("interrupted")
        case .locked(let path):
            VenueError("locked: another gwi-fleet run is working on this venue (lock \(path))")
        case .connection(let step, let error), .database(let step, let error):
            VenueError(step: step, "\(error)")
        case .toolMissing(let tool):
            VenueError("\(tool) not found on PATH", hint: "install postgresql-client (scripts/install-deps)")
        case .toolFailed(let tool, let status, let message):
            VenueError("\(tool) \(status)" + (message.isEmpty ? "" : ": \(message)"))
        case .toolTooOld(let tool, let toolMajor, let serverMajor):
            VenueError("\(tool) \(toolMajor) cannot dump a PostgreSQL \(serverMajor) server", hint: "install postgresql-client-\(serverMajor)")
        case .file(let path, let operation, let code):
            VenueError("cannot \(operation) \(path): \(String(cString: strerror(code)))")
        case .invalidURL(let key, let error):
            VenueError(step: key, "\(error)")
        case .backupNotFound(let error), .verificationFailed(let error), .refused(let error):
            error
        case .noSuchTable(let names):
            VenueError("no table " + names.map { "\"\($0)\"" }.joined(separator: ", ") + " in this database")
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif


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
    case backupNotFound(String)
    case verificationFailed(String)
    case refused(String)
    /// Tables named (in `verify.tables` or `--table`) that the database does not have.
    case noSuchTable([String])

    public var description: String {
        switch self {
        case .timedOut(let limit):
            "timed out after \(FleetDuration.format(limit)) (raise `timeout` for this venue or pass --timeout)"
        case .interrupted:
            "interrupted"
        case .locked(let path):
            "locked: another gwi-fleet run is working on this venue (lock \(path))"
        case .connection(let step, let error):
            "\(step): \(error)"
        case .database(let step, let error):
            "\(step): \(error)"
        case .toolMissing(let tool):
            "\(tool) not found on PATH; install postgresql-client (scripts/install-deps)"
        case .toolFailed(let tool, let status, let message):
            "\(tool) \(status)" + (message.isEmpty ? "" : ": \(message)")
        case .toolTooOld(let tool, let toolMajor, let serverMajor):
            "\(tool) \(toolMajor) cannot dump a PostgreSQL \(serverMajor) server; install postgresql-client-\(serverMajor)"
        case .file(let path, let operation, let code):
            "cannot \(operation) \(path): \(String(cString: strerror(code)))"
        case .invalidURL(let key, let error):
            "\(key): \(error)"
        case .backupNotFound(let message), .verificationFailed(let message), .refused(let message):
            message
        case .noSuchTable(let names):
            "no table " + names.map { "\"\($0)\"" }.joined(separator: ", ") + " in this database"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif


/// Everything that can go wrong talking to PostgreSQL. Descriptions never carry a password:
/// they are built from libpq's messages and from redacted connection strings only.
public enum PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connection string could not be parsed by libpq.
    case invalidConnectionString(String)
    /// The server could not be reached or refused the session.
    case connectionFailed(String)
    /// A statement failed on the server; `sqlState` is the five-character SQLSTATE code.
    case queryFailed(sqlState: String?, message: String)
    /// The connection was closed or broken while in use.
    case connectionLost(String)
    /// The statement was cancelled because the calling task was cancelled.
    case cancelled
    /// The server answered, but not with what the statement promises (no row, a NULL, not a number).
    case unexpectedResult(String)

    public var description: String {
        switch self {
        case .invalidConnectionString(let message): "invalid connection string: \(message)"
        case .connectionFailed(let message): "cannot connect: \(message)"
        case .queryFailed(let state, let message):
            state.map { "\(message) (SQLSTATE \($0))" } ?? message
        case .connectionLost(let message): "connection lost: \(message)"
        case .cancelled: "cancelled"
        case .unexpectedResult(let message): "unexpected answer from the server: \(message)"
        }
    }

    /// Failures worth another attempt: the server was unreachable, starting up or out of slots.
    public var isTransient: Bool {
        switch self {
        case .connectionFailed(let message):
            let transientSigns = [
                "Connection refused", "could not connect", "timeout expired", "the database system is starting up",
                "the database system is shutting down", "too many clients", "remaining connection slots",
                "Connection timed out", "could not translate host name", "server closed the connection",
            ]
            // A missing database or a bad password will not fix itself.
            if message.contains("does not exist") || message.contains("authentication failed") { return false }
            return transientSigns.contains { message.contains($0) }
        case .connectionLost:
            return true
        case .queryFailed(let state, _):
            // 57P03 cannot_connect_now, 53300 too_many_connections
            return state == "57P03" || state == "53300"
        case .invalidConnectionString, .cancelled, .unexpectedResult:
            return false
        }
    }

    /// The SQLSTATE of a server error, if any.
    public var sqlState: String? {
        if case .queryFailed(let state, _) = self { return state }
        return nil
    }
}

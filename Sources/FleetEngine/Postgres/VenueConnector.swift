import FleetModel
import Foundation
import PostgresClient

/// Which of a venue's two URLs to use.
public enum VenueEndpoint: Sendable {
    /// The pooled URL, for queries.
    case pooled
    /// The direct URL, for pg_dump, restores and migrations.
    case direct
}

/// Turns a venue's URLs into connections and child-process settings, with the password from the
/// URL or `password_env` kept out of every string that is shown or put in argv.
public struct VenueConnector: Sendable {
    /// Attempts for a connection that fails in a way that may pass (refused, starting up, full).
    public var attempts: Int
    public var firstBackoff: Duration
    public var environment: [String: String]

    public init(attempts: Int = 3, firstBackoff: Duration = .milliseconds(300),
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.attempts = attempts
        self.firstBackoff = firstBackoff
        self.environment = environment
    }

    /// The parsed connection settings, with `password_env`'s value as the password when set.
    public func connectionInfo(for venue: Venue, _ endpoint: VenueEndpoint) throws -> ConnectionInfo {
        let (url, key) = endpoint == .pooled ? (venue.url, "url") : (venue.directURL, "direct_url")
        var info: ConnectionInfo
        do { info = try ConnectionInfo(parsing: url) } catch { throw FleetEngineError.invalidURL(key: key, error) }
        if let name = venue.passwordEnv, let password = environment[name] { info.password = password }
        return info
    }

    /// Connects, retrying transient failures with doubling backoff.
    public func connect(_ venue: Venue, _ endpoint: VenueEndpoint, step: String = "connect") async throws -> PostgresConnection {
        let info = try connectionInfo(for: venue, endpoint)
        var backoff = firstBackoff
        for attempt in 1...max(1, attempts) {
            do {
                return try await PostgresConnection.connect(info)
            } catch let error as PostgresError where error.isTransient && attempt < attempts {
                try await Task.sleep(for: backoff)
                backoff *= 2
            } catch let error as PostgresError {
                let tries = attempt > 1 ? " (after \(attempt) attempts)" : ""
                if case .connectionFailed(let message) = error, message.contains("password") {
                    throw FleetEngineError.connection(step: step + tries, .connectionFailed(message + "; " + passwordSource(for: venue, endpoint, info)))
                }
                throw FleetEngineError.connection(step: step + tries, error)
            }
        }
        preconditionFailure("the loop returns or throws")
    }

    /// Where the password of a failed login came from, or where it was looked for, so a wrong or
    /// missing password can be fixed at its source. Names places, never the password.
    func passwordSource(for venue: Venue, _ endpoint: VenueEndpoint, _ info: ConnectionInfo) -> String {
        if let name = venue.passwordEnv { return "the password came from $\(name) (password_env)" }
        let key = endpoint == .pooled ? "url" : "direct_url"
        if info.password != nil { return "the password came from the venue's \(key)" }
        if environment["PGPASSWORD"] != nil { return "the password came from PGPASSWORD" }
        let passfile = info["passfile"] ?? environment["PGPASSFILE"] ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.pgpass"
        let named = info["passfile"] != nil ? " (passfile)" : environment["PGPASSFILE"] != nil ? " (PGPASSFILE)" : ""
        return FileManager.default.fileExists(atPath: passfile)
            ? "the password was looked for in \(passfile)\(named), as the venue's \(key) has none and there is no password_env or PGPASSWORD"
            : "no password anywhere: none in the venue's \(key), no password_env, no PGPASSWORD, and \(passfile)\(named) does not exist"
    }

    /// What a child (pg_dump, psql) needs: a secret-free conninfo for argv, the secrets in its
    /// environment or a 0600 file. Keep it alive while the child runs.
    func childConnection(for venue: Venue, _ endpoint: VenueEndpoint) throws -> ChildConnection {
        try ChildConnection(try connectionInfo(for: venue, endpoint))
    }
}

extension Venue {
    /// The pooled URL with any password replaced by `***`, for display.
    public var redactedURL: String { ConnectionInfo.redacting(url) }
    /// The direct URL with any password replaced by `***`, for display.
    public var redactedDirectURL: String { ConnectionInfo.redacting(directURL) }
}

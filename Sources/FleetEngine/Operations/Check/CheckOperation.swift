import FleetModel
import PostgresClient

/// `gwi-fleet check` on one venue: can we connect (pooled and direct), which server, how big, and
/// can the local pg_dump dump it (its major version must be at least the server's).
public struct CheckOperation: Sendable {
    public var tools: PgTools
    public var connector: VenueConnector

    public init(tools: PgTools, connector: VenueConnector = VenueConnector()) {
        self.tools = tools
        self.connector = connector
    }

    public func run(_ venue: Venue) async throws -> CheckResult {
        let connection = try await connector.connect(venue, .pooled, step: "connect (url)")
        let result: QueryResult
        do {
            result = try await connection.query("""
                SELECT current_setting('server_version'), current_setting('server_version_num')::int,
                       pg_database_size(current_database())
                """)
        } catch let error as PostgresError {
            throw FleetEngineError.database(step: "read server facts", error)
        }
        if venue.directURL != venue.url {
            _ = try await connector.connect(venue, .direct, step: "connect (direct_url)")
        }
        let version: String, serverMajor: Int, size: Int
        do {
            version = try result.value(0, 0, "server_version")
            serverMajor = try result.int(0, 1, "server_version_num") / 10000
            size = try result.int(0, 2, "the database size")
        } catch {
            throw FleetEngineError.database(step: "read server facts", error)
        }
        let dumpable = tools.pgDumpMajor >= serverMajor
        if !dumpable {
            throw FleetEngineError.toolTooOld(tool: "pg_dump", toolMajor: tools.pgDumpMajor, serverMajor: serverMajor)
        }
        return CheckResult(serverVersion: version, databaseBytes: size, pgDumpVersion: tools.pgDumpVersion, pgDumpCompatible: dumpable)
    }
}

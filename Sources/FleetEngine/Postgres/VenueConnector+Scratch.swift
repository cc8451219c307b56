import FleetModel
import PostgresClient

extension VenueConnector {
    /// The server for scratch databases: `verify.scratch_url`, else the venue's direct URL.
    func scratchServer(for venue: Venue) throws -> DatabaseRestorer.Server {
        guard let url = venue.scratchURL else { return DatabaseRestorer.Server(info: try connectionInfo(for: venue, .direct)) }
        var info: ConnectionInfo
        do { info = try ConnectionInfo(parsing: url) } catch { throw FleetEngineError.invalidURL(key: "verify.scratch_url", error) }
        if info.password == nil, let name = venue.passwordEnv, let password = environment[name] { info.password = password }
        return DatabaseRestorer.Server(info: info)
    }
}

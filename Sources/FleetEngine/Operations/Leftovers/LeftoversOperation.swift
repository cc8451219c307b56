import FleetModel
import Foundation
import PostgresClient

/// `gwi-fleet leftovers`: the databases gwi-fleet itself left on the fleet's servers (the old copy
/// of a safe replace, an interrupted restore, a verify scratch database), listed, and dropped only
/// when asked. Nothing else is ever dropped: a name must parse as one of ours, with its time, be
/// recorded as made by gwi-fleet (`CreatedDatabases`), and be no venue's database in the fleet
/// or in the saved discovery; and nothing at all is dropped on a stale venue list.
public struct LeftoversOperation: Sendable {
    /// What happens to one leftover.
    public struct Decision: Sendable {
        public var server: String
        public var database: Coverage.Database
        public var drop: Bool
        public var reason: String
        /// Set when the drop was tried and failed.
        public var error: String?
    }

    public var fleet: Fleet
    public var connector: VenueConnector
    /// How the fleet's venues were found: a stale list forbids dropping.
    public var discovery: DiscoveryStatus?

    public init(fleet: Fleet, connector: VenueConnector = VenueConnector(), discovery: DiscoveryStatus? = nil) {
        self.fleet = fleet
        self.connector = connector
        self.discovery = discovery
    }

    /// Why `--drop` drops nothing in this run: the venue list is the saved one (discovery failed),
    /// so a venue registered since could own a database named like a leftover.
    public var dropRefusal: String? {
        guard let discovery, !discovery.fresh else { return nil }
        return "nothing dropped: discovery (\(discovery.source)) failed (\(discovery.error ?? "unknown error")), so the venue list is the one saved at "
            + "\(Timestamp.iso8601(discovery.asOf)) and may miss venues registered since; drop again when discovery works"
    }

    /// Every database a venue names: the fleet's (file and discovery) and the saved discovery's.
    func venueDatabases() -> Set<String> {
        var names = Set(fleet.venues.map(\.database))
        if fleet.discovery != nil, let saved = FleetLoader.loadSaved(fleet) {
            names.formUnion(fleet.adding(discovered: saved.entries).0.venues.map(\.database))
        }
        return names
    }

    /// Every leftover with what `--drop --older-than` would do to it; servers that could not be read.
    public func plan(olderThan: Duration) async -> (decisions: [Decision], unreachable: [(String, String)]) {
        let servers = await Coverage(fleet: fleet, connector: connector).check()
        let limit = Int(olderThan.components.seconds)
        // `--older-than 0s`: any age.
        let old = olderThan == .zero ? "any age (--older-than 0s)" : "older than \(FleetDuration.format(olderThan))"
        var decisions: [Decision] = []
        let venueDatabases = venueDatabases()
        let recorded = CreatedDatabases.names(of: fleet.venues)
        for server in servers {
            // A venue's `restore --as` copy: kept while it is younger than --older-than.
            for copy in server.restoredCopies {
                let of = "restored copy of `\(copy.venue ?? "?")`"
                let (drop, reason): (Bool, String) = switch copy.ageSeconds {
                case _ where venueDatabases.contains(copy.name): (false, "a venue's database now: never dropped")
                case _ where copy.ignored: (false, "\(of), listed in `ignore:`: never dropped")
                case let age? where age >= limit: (true, "\(of), \(old)")
                case _: (false, "\(of), younger than \(FleetDuration.format(olderThan))")
                }
                decisions.append(Decision(server: server.server, database: copy, drop: drop, reason: reason))
            }
            for database in server.leftovers {
                let (drop, reason): (Bool, String) = switch database.ageSeconds {
                case _ where venueDatabases.contains(database.name):
                    (false, "a venue's database (named like a leftover): never dropped")
                case _ where !recorded.contains(database.name):
                    (false, "not recorded, not dropped: gwi-fleet has no record of making it; drop it by hand if it is not needed")
                case nil: (false, "age unknown (no time in its name): drop it by hand if it is not needed")
                case let age? where age >= limit: (true, old)
                case _: (false, "younger than \(FleetDuration.format(olderThan))")
                }
                decisions.append(Decision(server: server.server, database: database, drop: drop, reason: reason))
            }
        }
        // Scratch clusters of point-in-time recoveries a killed run left on this host.
        for (path, age) in ScratchLeftovers(fleet: fleet).found() {
            let drop = (age ?? 0) >= limit
            decisions.append(Decision(server: "this host", database: Coverage.Database(name: path, kind: "pitr-scratch", ageSeconds: age),
                                      drop: drop, reason: drop ? old : "younger than \(FleetDuration.format(olderThan)) (a recovery may still be running)"))
        }
        // Branches of point-in-time restores and verify runs a killed run left in Neon projects.
        let neon = await NeonLeftovers(fleet: fleet, environment: connector.environment).found()
        for branch in neon.branches {
            let limit = Int(olderThan.components.seconds)
            let old = (branch.ageSeconds ?? 0) >= limit
            decisions.append(Decision(server: branch.server, database: Coverage.Database(name: branch.name, kind: "neon-branch", ageSeconds: branch.ageSeconds),
                                      drop: old, reason: old ? "older than \(FleetDuration.format(olderThan))" : "younger than \(FleetDuration.format(olderThan)) (a run may still use it)"))
        }
        return (decisions, servers.compactMap { server in server.error.map { (server.server, $0) } } + neon.unreadable)
    }

    /// Drops what the plan says to drop; returns the plan with any errors filled in.
    public func drop(_ decisions: [Decision]) async -> [Decision] {
        var result = decisions
        for index in result.indices where result[index].drop {
            let decision = result[index]
            if decision.database.kind == "neon-branch" {
                result[index].error = await NeonLeftovers(fleet: fleet, environment: connector.environment)
                    .remove(decision.database.name, server: decision.server)
                continue
            }
            if decision.database.kind == "pitr-scratch" {
                result[index].error = await ScratchLeftovers(fleet: fleet).remove(decision.database.name)
                continue
            }
            // Re-check the name: only ever one of ours (a leftover's shape, or a recorded restored
            // copy), recorded, no venue's and none of PostgreSQL's own.
            let name = decision.database.name
            let shaped = Coverage.leftover(name) != nil || CreatedDatabases.restoredCopies(of: fleet.venues)[name] != nil
            guard shaped, !Coverage.isSystemDatabase(name), dropRefusal == nil,
                  CreatedDatabases.names(of: fleet.venues).contains(decision.database.name),
                  !venueDatabases().contains(decision.database.name) else { continue }
            guard let venue = fleet.venues.first(where: { venue in
                (try? connector.connectionInfo(for: venue, .direct)).map(FleetPreflight.serverKey) == decision.server
            }) else { continue }
            do {
                let connection = try await connector.connect(venue, .direct, step: "connect to drop \(decision.database.name)")
                try await connection.execute("DROP DATABASE IF EXISTS \(SQLQuoting.identifier(decision.database.name)) WITH (FORCE)")
            } catch {
                result[index].error = "\(error)"
            }
        }
        return result
    }
}

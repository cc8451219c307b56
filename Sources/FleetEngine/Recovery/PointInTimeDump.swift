import FleetModel
import Foundation
import PostgresClient

/// A venue's database as it was at a moment, taken as a `pitr` backup into its catalog: the
/// provider recovers the one database into a scratch place (pgBackRest: a scratch cluster on this
/// host, the other databases of the server never touched), the normal backup pipeline dumps it
/// (row counts from the dump's own snapshot, the manifest saying `pitr: {target, recovered_to}`),
/// and the scratch place is removed whatever happens. `restore --at` then restores that dump.
struct PointInTimeDump: Sendable {
    var tools: PgTools
    var connector: VenueConnector

    /// What a recovery at `target` would use, touching nothing: the window and what it starts
    /// from (pgBackRest: the base backup set; Neon: the branch the new one is made from).
    struct Plan: Sendable {
        var provider: String
        var earliest: Date?
        var latest: Date?
        var startsFrom: String?
    }

    func plan(_ venue: Venue, at target: Date) async throws -> Plan {
        switch venue.pitr {
        case .pgbackrest?:
            let window = try await pgBackRest(for: venue).window()
            if let refusal = window.refusal(for: target, now: WallClock.now()) { throw refusal }
            let base = window.backups.filter { !$0.error && $0.stoppedAt < target }.max { $0.stoppedAt < $1.stoppedAt }
            return Plan(provider: "pgbackrest", earliest: window.earliest, latest: window.latest, startsFrom: base.map { "backup set \($0.label)" })
        case .neon(let settings)?:
            let neon = try NeonRecovery(settings, environment: connector.environment)
            let window = try await neon.window()
            if let refusal = neon.refusal(for: target, in: window) { throw refusal }
            return Plan(provider: "neon", earliest: window.earliest, latest: window.latest,
                        startsFrom: "a read-only branch of \(window.parent.name) (\(window.parent.id))")
        case nil:
            throw Self.noPITR(venue)
        }
    }

    static func noPITR(_ venue: Venue) -> FleetEngineError {
        .refused(VenueError(step: "restore --at", "\(venue.slug) has no `pitr:` settings",
                            hint: "set pitr.pgbackrest (stanza, config) for its server, or pitr.neon; see README, point-in-time restore"))
    }

    func pgBackRest(for venue: Venue) throws -> PgBackRestRecovery {
        guard case .pgbackrest(let settings)? = venue.pitr else { throw Self.noPITR(venue) }
        return PgBackRestRecovery(settings: PgBackRestSetup(settings), source: try connector.connectionInfo(for: venue, .direct),
                                  now: { WallClock.now() })
    }

    /// Recovers, dumps and removes the scratch place; returns the `pitr` backup's manifest. The
    /// caller holds the venue's lock.
    /// `leftBehind`: what the recovery could not clean up (a Neon branch), for the report.
    func take(_ venue: Venue, at target: Date) async throws -> (BackupManifest, leftBehind: String?) {
        let dumper = VenueDumper(tools: tools, connector: connector)
        switch venue.pitr {
        case .pgbackrest?:
            return (try await pgBackRest(for: venue).recover(database: venue.database, slug: venue.slug, at: target) { cluster in
                var scratch = venue
                let quote = { (value: String) in "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'" }
                let conninfo = "host=\(quote(cluster.directory)) port=\(cluster.port) user=\(quote(cluster.user)) dbname=\(quote(cluster.database))"
                (scratch.url, scratch.directURL, scratch.passwordEnv) = (conninfo, conninfo, nil)
                let pitr = BackupManifest.PITR(provider: "pgbackrest", target: target, recoveredTo: cluster.recoveredTo, baseBackup: cluster.backupSet)
                return try await dumper.backup(scratch, lockHeld: true, purpose: .pitr, pitr: pitr)
            }, nil)
        case .neon(let settings)?:
            let info = try connector.connectionInfo(for: venue, .direct)
            return try await NeonRecovery(settings, environment: connector.environment).recover(slug: venue.slug, at: target) { host, branch, madeAt in
                // The venue's own role and password, on the branch's endpoint; the password goes
                // to pg_dump the usual way (its environment), never into a URL or argv.
                let (scratch, branchConnector) = connector.venue(venue, on: info.onHost(host))
                let pitr = BackupManifest.PITR(provider: "neon", target: target, recoveredTo: madeAt, baseBackup: nil, branch: branch)
                return try await VenueDumper(tools: tools, connector: branchConnector).backup(scratch, lockHeld: true, purpose: .pitr, pitr: pitr)
            }
        case nil:
            _ = dumper
            throw Self.noPITR(venue)
        }
    }
}

extension VenueConnector {
    /// `venue` reached through `info` instead of its URLs (a Neon branch's endpoint): the password
    /// handed over in a variable of this connector's environment, as `password_env` would.
    func venue(_ venue: Venue, on info: ConnectionInfo) -> (Venue, VenueConnector) {
        var scratch = venue
        var connector = self
        (scratch.url, scratch.directURL, scratch.passwordEnv) = (info.passwordlessConninfo, info.passwordlessConninfo, nil)
        if let password = info.password {
            scratch.passwordEnv = "GWI_FLEET_BRANCH_PASSWORD"
            connector.environment["GWI_FLEET_BRANCH_PASSWORD"] = password
        }
        return (scratch, connector)
    }
}

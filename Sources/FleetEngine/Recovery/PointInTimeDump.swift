import FleetModel
import Foundation

/// A venue's database as it was at a moment, taken as a `pitr` backup into its catalog: the
/// provider recovers the one database into a scratch place (pgBackRest: a scratch cluster on this
/// host, the other databases of the server never touched), the normal backup pipeline dumps it
/// (row counts from the dump's own snapshot, the manifest saying `pitr: {target, recovered_to}`),
/// and the scratch place is removed whatever happens. `restore --at` then restores that dump.
struct PointInTimeDump: Sendable {
    var tools: PgTools
    var connector: VenueConnector

    /// What a recovery at `target` would use, touching nothing: the window and the base backup.
    struct Plan: Sendable {
        var provider: String
        var window: RecoveryWindow
        var baseBackup: String?
    }

    func recovery(for venue: Venue) throws -> PgBackRestRecovery {
        switch venue.pitr {
        case .pgbackrest(let settings)?:
            return PgBackRestRecovery(settings: PgBackRestSetup(settings), source: try connector.connectionInfo(for: venue, .direct),
                                      now: { WallClock.now() })
        case .neon?:
            throw FleetEngineError.refused(VenueError(step: "restore --at", "point-in-time restore through Neon is not in this gwi-fleet yet",
                                                      hint: "use pitr.pgbackrest, or Neon's own console"))
        case nil:
            throw FleetEngineError.refused(VenueError(step: "restore --at", "\(venue.slug) has no `pitr:` settings",
                                                      hint: "set pitr.pgbackrest (stanza, config) for its server; see README, point-in-time restore"))
        }
    }

    func plan(_ venue: Venue, at target: Date) async throws -> Plan {
        let window = try await recovery(for: venue).window()
        if let refusal = window.refusal(for: target, now: WallClock.now()) { throw refusal }
        let base = window.backups.filter { !$0.error && $0.stoppedAt < target }.max { $0.stoppedAt < $1.stoppedAt }
        return Plan(provider: venue.pitr?.provider ?? "?", window: window, baseBackup: base?.label)
    }

    /// Recovers, dumps and removes the scratch place; returns the `pitr` backup's manifest. The
    /// caller holds the venue's lock.
    func take(_ venue: Venue, at target: Date) async throws -> BackupManifest {
        let recovery = try recovery(for: venue)
        let dumper = VenueDumper(tools: tools, connector: connector)
        return try await recovery.recover(database: venue.database, slug: venue.slug, at: target) { cluster in
            var scratch = venue
            let quote = { (value: String) in "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'" }
            let conninfo = "host=\(quote(cluster.directory)) port=\(cluster.port) user=\(quote(cluster.user)) dbname=\(quote(cluster.database))"
            (scratch.url, scratch.directURL, scratch.passwordEnv) = (conninfo, conninfo, nil)
            let pitr = BackupManifest.PITR(provider: "pgbackrest", target: target, recoveredTo: cluster.recoveredTo, baseBackup: cluster.backupSet)
            return try await dumper.backup(scratch, lockHeld: true, purpose: .pitr, pitr: pitr)
        }
    }
}

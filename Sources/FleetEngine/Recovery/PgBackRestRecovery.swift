import FleetModel
import Foundation
import Logging
import PostgresClient

/// Where a fleet server's pgBackRest backups and WAL archive are, and where and as whom to rebuild
/// a scratch cluster from them.
public struct PgBackRestSetup: Sendable {
    /// The stanza holding the source server's backups and WAL.
    public var stanza: String
    /// pgBackRest's configuration file (`--config`); nil: its built-in default.
    public var config: String?
    /// Where scratch clusters are made; nil: `$TMPDIR`, else /tmp. The owner must be able to
    /// reach it, and the path must leave room for a Unix socket (about 80 bytes at most).
    public var scratchDirectory: String?
    /// The server programs (pg_ctl, postgres) of the source's major version; nil:
    /// `/usr/lib/postgresql/<major>/bin`, the major read from the source's `server_version_num`.
    public var binDirectory: String?
    /// The owner of the repository, who runs pgbackrest and the scratch cluster when gwi-fleet
    /// runs as root; nil: `postgres`. Without root everything runs as the current user.
    public var runAs: String?
    /// The pgbackrest program; nil: found on PATH.
    public var pgbackrest: String?
    /// How long the scratch cluster may take to start, replay WAL up to the target and promote.
    public var recoveryTimeout: Duration

    public init(stanza: String, config: String? = nil, scratchDirectory: String? = nil, binDirectory: String? = nil,
                runAs: String? = nil, pgbackrest: String? = nil, recoveryTimeout: Duration = .seconds(3600)) {
        self.stanza = stanza
        self.config = config
        self.scratchDirectory = scratchDirectory
        self.binDirectory = binDirectory
        self.runAs = runAs
        self.pgbackrest = pgbackrest
        self.recoveryTimeout = recoveryTimeout
    }
}

extension PgBackRestSetup {
    /// Where scratch clusters are made: `scratchDirectory`, else `$TMPDIR`, else /tmp.
    var scratchParent: String {
        scratchDirectory ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    /// A venue's `pitr.pgbackrest` settings, everything else at its default.
    public init(_ settings: PgBackRestSettings) {
        self.init(stanza: settings.stanza, config: settings.config, scratchDirectory: settings.scratchDirectory)
    }
}

/// Point-in-time recovery of one venue database through pgBackRest: the database as it was at a
/// moment, rebuilt from the stanza's newest backup before that moment plus archived WAL in a
/// scratch cluster on this host, handed to the caller (who dumps it), then stopped and removed
/// on success, on error and on cancellation alike. The source server is only read.
public struct PgBackRestRecovery: Sendable {
    public var settings: PgBackRestSetup
    /// Any database on the source server: its version, superuser, settings and archiver are read.
    public var source: ConnectionInfo
    public var now: @Sendable () -> Date

    public init(settings: PgBackRestSetup, source: ConnectionInfo, now: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        self.source = source
        self.now = now
    }

    /// The moments that can be recovered now: from the end of the oldest backup (`pgbackrest
    /// info`) to the source's last archived WAL (`pg_stat_archiver`), with the archive's lag.
    public func window() async throws -> RecoveryWindow {
        let server = try await SourceServer.read(source)
        let pgBackRest = try PgBackRest(settings: settings, owner: try ClusterOwner.resolve(settings.runAs))
        return RecoveryWindow(stanza: settings.stanza, backups: try await pgBackRest.backups(), archiver: server.archiver)
    }

    /// `pgbackrest check` of the stanza (run as the repository's owner): the archive works.
    public func check() async throws {
        try await PgBackRest(settings: settings, owner: try ClusterOwner.resolve(settings.runAs)).check()
    }

    /// Recovers `database` as it was at `target` into a scratch cluster and runs `body` against it
    /// (pg_dump, say), then stops the cluster and removes its directory, whatever happens. `slug`
    /// names the scratch directory (`gwi-fleet-pitr-<slug>-…`); nil: the database's name.
    ///
    /// Refused before anything runs when the target is in the future; refused before anything is
    /// restored when it is outside the window. A cancelled task (Ctrl-C, a deadline) throws
    /// `CancellationError` once the scratch cluster is gone.
    public func recover<T>(database: String, slug: String? = nil, at target: Date,
                           _ body: (RecoveredCluster) async throws -> T) async throws -> T {
        let now = self.now()
        if target > now { throw PgBackRestRecoveryError.targetInFuture(target: target, now: now) }
        let server = try await SourceServer.read(source)
        let owner = try ClusterOwner.resolve(settings.runAs)
        let binDirectory = try serverBinaries(major: server.major)
        let pgBackRest = try PgBackRest(settings: settings, owner: owner)
        let window = RecoveryWindow(stanza: settings.stanza, backups: try await pgBackRest.backups(), archiver: server.archiver)
        if let refusal = window.refusal(for: target, now: now) { throw refusal }
        try Task.checkCancellation()

        let name = ScratchCluster.name(for: slug ?? database, at: now)
        // Held until the directory is gone: no `leftovers` (of any fleet or user) removes it meanwhile.
        let lock = try ScratchLock(name)
        defer { withExtendedLifetime(lock) {} }
        let scratch = try ScratchCluster.create(in: scratchParent, name: name, owner: owner, binDirectory: binDirectory)
        let value: T
        do {
            let clock = ContinuousClock()
            let restoring = clock.now
            let backupSet = try await pgBackRest.restore(database: database, at: target, into: scratch.directory, window: window)
            let starting = clock.now
            try Task.checkCancellation()
            let deadline = starting + settings.recoveryTimeout
            try await scratch.start(server, target: target, until: deadline)
            let replayed = try await scratch.waitUntilPromoted(user: server.superuser, target: target, until: deadline,
                                                               limit: settings.recoveryTimeout)
            guard let recoveredTo = replayed else { throw PgBackRestRecoveryError.nothingReplayed(target: target) }
            guard PgBackRest.microseconds(recoveredTo) <= PgBackRest.microseconds(target) else {
                throw PgBackRestRecoveryError.recoveredPastTarget(recoveredTo: recoveredTo, target: target)
            }
            let cluster = RecoveredCluster(
                database: database, directory: scratch.directory, port: scratch.port, user: server.superuser,
                connectionInfo: try scratch.connectionInfo(database: database, user: server.superuser),
                target: target, recoveredTo: recoveredTo, backupSet: backupSet,
                restoreDuration: starting - restoring, recoveryDuration: clock.now - starting)
            value = try await body(cluster)
        } catch {
            if let problem = await scratch.tearDown() {
                RunContext.logger.error("scratch cluster left behind", metadata: ["directory": .string(scratch.directory), "reason": .string(problem)])
            }
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
        if let problem = await scratch.tearDown() {
            throw PgBackRestRecoveryError.scratchLeftBehind(directory: scratch.directory, reason: problem)
        }
        lock.remove()
        return value
    }

    var scratchParent: String { settings.scratchParent }

    /// The configured bin directory, or Debian's for the source's major version, with pg_ctl and postgres in it.
    func serverBinaries(major: Int) throws -> String {
        let directory = settings.binDirectory ?? "/usr/lib/postgresql/\(major)/bin"
        guard ["pg_ctl", "postgres"].allSatisfy({ FileManager.default.isExecutableFile(atPath: directory + "/" + $0) }) else {
            throw PgBackRestRecoveryError.serverBinariesMissing(major: major, directory: directory)
        }
        return directory
    }
}

import Foundation
import PostgresClient

/// One venue database as it was at a moment, running in a scratch cluster until the closure given
/// to `PgBackRestRecovery.recover` returns: where to connect (`pg_dump -h directory -p port -U user
/// -d database`), and what was recovered.
public struct RecoveredCluster: Sendable {
    public var database: String
    /// The scratch cluster's data directory, which is also its only socket directory (no TCP).
    public var directory: String
    public var port: Int
    /// The source's bootstrap superuser; it logs in without a password, over the private socket only.
    public var user: String
    /// libpq settings for `database` on the scratch cluster (no password is needed or held).
    public var connectionInfo: ConnectionInfo
    public var target: Date
    /// The commit time of the last transaction replayed: the database holds every commit up to it,
    /// none after the target.
    public var recoveredTo: Date
    /// The pgBackRest backup set recovery started from (`20261202-030630F`), when it said.
    public var backupSet: String?
    /// `pgbackrest restore`, then start, replay and promotion.
    public var restoreDuration: Duration
    public var recoveryDuration: Duration
}

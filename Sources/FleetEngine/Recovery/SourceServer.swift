import Foundation
import PostgresClient

/// What a point-in-time recovery needs to know of the server whose WAL pgBackRest archives, read
/// in one query: its version (which server programs rebuild it), its bootstrap superuser (who can
/// log in to the recovered copy), the settings a recovering copy must match, and its archiver.
struct SourceServer: Sendable {
    /// `server_version_num`, e.g. 150018.
    var versionNumber: Int
    /// The role with OID 10, created by initdb: present in every restored copy.
    var superuser: String
    /// Settings a server replaying this one's WAL must not set lower (PostgreSQL stops recovery
    /// with "insufficient parameter settings" otherwise), as `name=value` for `-c`.
    var requiredSettings: [String]
    var archiver: RecoveryWindow.Archiver

    var major: Int { versionNumber / 10000 }

    static let matchedSettings = ["max_connections", "max_worker_processes", "max_wal_senders",
                                  "max_prepared_transactions", "max_locks_per_transaction"]

    static func read(_ info: ConnectionInfo) async throws -> SourceServer {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(info)
        } catch let error as PostgresError {
            throw PgBackRestRecoveryError.source(step: "connect to the source server \(info.endpoint)", error)
        }
        let settings = matchedSettings.map { "current_setting('\($0)')" }.joined(separator: ", ")
        do {
            let result = try await connection.query("""
                SELECT current_setting('server_version_num'), (SELECT rolname FROM pg_roles WHERE oid = 10),
                       current_setting('archive_mode'), extract(epoch FROM now())::text,
                       extract(epoch FROM a.last_archived_time)::text, a.last_archived_wal,
                       extract(epoch FROM a.last_failed_time)::text, a.last_failed_wal, \(settings)
                FROM pg_stat_archiver a
                """)
            let superuser = try result.value(0, 1, "the bootstrap superuser")
            let epoch = { (column: Int) in result.rows[0][column].flatMap(Double.init).map(Date.init(timeIntervalSince1970:)) }
            let archiver = RecoveryWindow.Archiver(
                archiveMode: try result.value(0, 2, "archive_mode"), lastArchivedAt: epoch(4), lastArchivedWAL: result.rows[0][5],
                lastFailedAt: epoch(6), lastFailedWAL: result.rows[0][7], checkedAt: epoch(3) ?? Date())
            let required = try matchedSettings.enumerated().map { index, name in
                "\(name)=\(try result.value(0, 8 + index, name))"
            }
            return SourceServer(versionNumber: try result.int(0, 0, "server_version_num"), superuser: superuser,
                                requiredSettings: required, archiver: archiver)
        } catch let error as PostgresError {
            throw PgBackRestRecoveryError.source(step: "read the version and pg_stat_archiver of \(info.endpoint)", error)
        }
    }
}

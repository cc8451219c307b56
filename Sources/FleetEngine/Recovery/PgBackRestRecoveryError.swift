import Foundation
import PostgresClient

/// Why a point-in-time recovery through pgBackRest failed or was refused. Each message names the
/// step, the stanza or database and the scratch directory where they matter, and says what to do
/// next; none carries a password (only libpq's messages and endpoints, never a connection string).
public enum PgBackRestRecoveryError: Error, Sendable, CustomStringConvertible {
    /// Refused before anything ran: nobody can recover to a moment that has not happened.
    case targetInFuture(target: Date, now: Date)
    /// The stanza has no backup to start from (or pgBackRest says it is unusable).
    case noBackups(stanza: String, status: String)
    /// The target is older than the oldest backup's end.
    case targetBeforeWindow(target: Date, window: RecoveryWindow)
    /// The target is newer than the newest WAL the source has archived.
    case targetAfterArchive(target: Date, window: RecoveryWindow)
    /// The source does not archive its WAL, so no moment after a backup can be recovered.
    case archivingOff(stanza: String)
    /// `--db-include` names a database the chosen backup does not hold (created after it).
    case databaseNotInBackup(database: String, stanza: String, message: String)
    case toolMissing(tool: String, hint: String)
    case serverBinariesMissing(major: Int, directory: String)
    /// The user pgBackRest and the scratch cluster must run as cannot be used.
    case owner(String)
    case source(step: String, PostgresError)
    case pgbackrest(command: String, stanza: String, status: String, message: String)
    case scratch(path: String, operation: String, errno: Int32)
    case socketPathTooLong(path: String)
    /// The scratch cluster did not start, or died while recovering; `fatal` is its log's last words.
    case serverFailed(directory: String, step: String, fatal: String)
    /// The WAL in the archive ended before a commit after the target.
    case targetNotReached(target: Date, fatal: String)
    case recoveryTimedOut(directory: String, limit: Duration)
    /// Recovery replayed no transaction, so the moment it stopped at cannot be stated.
    case nothingReplayed(target: Date)
    case recoveredPastTarget(recoveredTo: Date, target: Date)
    case scratchQuery(step: String, PostgresError)
    /// The work succeeded but the scratch cluster could not be stopped or its directory removed.
    case scratchLeftBehind(directory: String, reason: String)

    public var description: String {
        let time = PgBackRest.timeText
        switch self {
        case .targetInFuture(let target, let now):
            return "target \(time(target)) is in the future (now \(time(now))); nothing was started: give a moment that has passed"
        case .noBackups(let stanza, let status):
            return "stanza `\(stanza)` has no backup to recover from (pgBackRest: \(status)); take a full backup with `pgbackrest --stanza=\(stanza) --type=full backup`"
        case .targetBeforeWindow(let target, let window):
            return "target \(time(target)) is before the recovery window of stanza `\(window.stanza)` (\(window.describedRange)): "
                + "the oldest backup finished in the second before \(window.earliest.map(time) ?? "?"); pick a later moment"
        case .targetAfterArchive(let target, let window):
            return "target \(time(target)) is after the newest WAL archived for stanza `\(window.stanza)` (\(window.describedRange)): "
                + "the WAL that covers it is not in the repository yet; wait for the next archive (archive_timeout) "
                + "or run SELECT pg_switch_wal() on the source, then retry"
                + (window.archiver.failing ? "; archiving is failing on the source (last failure \(window.archiver.lastFailedAt.map(time) ?? "?")): fix archive_command first" : "")
        case .archivingOff(let stanza):
            return "the source server has archive_mode=off, so stanza `\(stanza)` holds no WAL to recover a moment from; set archive_mode=on and an archive_command that runs pgbackrest archive-push"
        case .databaseNotInBackup(let database, let stanza, let message):
            return "database \(database) is not in the backup of stanza `\(stanza)` that recovery must start from (\(message)): "
                + "it was created after that backup; take a new full backup and recover to a moment after it"
        case .toolMissing(let tool, let hint):
            return "\(tool) not found on PATH; \(hint)"
        case .serverBinariesMissing(let major, let directory):
            return "the source runs PostgreSQL \(major), but \(directory) has no pg_ctl and postgres of that version; install postgresql-\(major) (or name another bin directory)"
        case .owner(let message):
            return message
        case .source(let step, let error):
            return "\(step): \(error)"
        case .pgbackrest(let command, let stanza, let status, let message):
            return "pgbackrest \(command) (stanza `\(stanza)`) \(status)" + (message.isEmpty ? "" : ": \(message)")
                + "; check the stanza and configuration with `pgbackrest --stanza=\(stanza) check` as the repository's owner"
        case .scratch(let path, let operation, let code):
            return "cannot \(operation) \(path): \(String(cString: strerror(code))); choose another scratch directory"
        case .socketPathTooLong(let path):
            return "the scratch cluster's socket \(path) is longer than the 107 bytes a Unix socket allows; choose a shorter scratch directory"
        case .serverFailed(let directory, let step, let fatal):
            return "the scratch cluster in \(directory) \(step)" + (fatal.isEmpty ? "" : ": \(fatal)")
        case .targetNotReached(let target, let fatal):
            return "recovery to \(time(target)) ran out of archived WAL before reaching it (\(fatal)): no commit after the target has been archived yet; "
                + "wait for the next archive or run SELECT pg_switch_wal() on the source, then retry"
        case .recoveryTimedOut(let directory, let limit):
            return "the scratch cluster in \(directory) was still recovering after \(limit.components.seconds)s; raise the recovery timeout"
        case .nothingReplayed(let target):
            return "recovery to \(time(target)) replayed no transaction after the backup, so the moment it reached cannot be confirmed; pick a target after the first commit that followed the backup"
        case .recoveredPastTarget(let recoveredTo, let target):
            return "the scratch cluster recovered to \(time(recoveredTo)), after the target \(time(target)); nothing was handed on"
        case .scratchQuery(let step, let error):
            return "\(step): \(error)"
        case .scratchLeftBehind(let directory, let reason):
            return "the recovered database was used, but its scratch cluster in \(directory) was left behind (\(reason)); "
                + "stop it with `pg_ctl -D \(directory) -m immediate stop` as its owner and remove the directory"
        }
    }
}

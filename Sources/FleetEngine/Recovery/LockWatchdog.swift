import FleetModel
import Foundation
import PostgresClient

/// Ends a restore that waits too long for a lock, and says who holds it. pg_restore and psql
/// cannot be given a lock_timeout: every dump starts with `SET lock_timeout = 0`, which overrides
/// `PGOPTIONS`. So a second connection watches the restore's own session (found by a unique
/// application_name) and cancels it once it has waited `limit` for a lock.
struct LockWatchdog {
    private let task: Task<String?, Never>

    /// A name for the restore's session to connect with, unique to it.
    static func uniqueApplicationName() -> String {
        "gwi-fleet-restore-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// Starts watching the sessions on `target`'s server called `name`. Polling is the only way:
    /// the server tells no one that a session is waiting. Every watchdog must be `finish`ed.
    init(watching name: String, on target: ConnectionInfo, limit: Duration, poll: Duration = .milliseconds(250)) {
        let milliseconds = limit.milliseconds
        task = Task {
            var monitorInfo = target
            monitorInfo["application_name"] = "gwi-fleet-lock-watchdog"
            guard let monitor = try? await PostgresConnection.connect(monitorInfo) else { return nil }
            while !Task.isCancelled {
                try? await Task.sleep(for: poll)
                guard let waiting = try? await monitor.query("""
                        SELECT a.pid, coalesce((SELECT l.relation::regclass::text FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted LIMIT 1), 'an object')
                        FROM pg_stat_activity a
                        WHERE a.application_name = $1 AND a.wait_event_type = 'Lock'
                          AND now() - a.state_change > make_interval(secs => $2::double precision / 1000)
                        LIMIT 1
                        """, [name, String(milliseconds)]), let row = waiting.rows.first, let pid = row[0] else { continue }
                let holders = (try? await monitor.query("""
                        SELECT b.pid, coalesce(nullif(b.application_name, ''), 'no application name'), coalesce(b.state, '?'),
                               coalesce(to_char(b.xact_start, 'HH24:MI:SS'), '?')
                        FROM pg_stat_activity b WHERE b.pid = ANY(pg_blocking_pids($1::int)) ORDER BY b.pid LIMIT 5
                        """, [pid]))?.rows ?? []
                _ = try? await monitor.query("SELECT pg_cancel_backend($1::int)", [pid])
                let named = holders.map { "pid \($0[0] ?? "?") (\($0[1] ?? "?"), \($0[2] ?? "?"), transaction since \($0[3] ?? "?"))" }
                let object = row[1] ?? "an object"
                return "waited \(FleetDuration.format(limit)) for a lock on \(object) held by "
                    + (named.isEmpty ? "another session (see pg_locks)" : named.joined(separator: "; "))
            }
            return nil
        }
    }

    /// Stops watching; returns what it found when it cancelled the restore, else nil.
    func finish() async -> String? {
        task.cancel()
        return await task.value
    }
}

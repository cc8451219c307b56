import FleetModel
import PostgresClient

/// Who holds the locks a step waited for, said the way an operator acts on it.
enum LockHolders {
    /// `waiting for a lock held by pid 4242 (psql, idle in transaction, since 14:02:11) on "Order"; …`
    static func describe(venue: Venue, connector: VenueConnector) async -> String {
        let generic = "waiting for a lock held by another session (see pg_locks and pg_stat_activity); nothing was changed"
        guard let connection = try? await connector.connect(venue, .direct, step: "connect to find the lock holder"),
              let result = try? await connection.query("""
                SELECT l.pid, coalesce(nullif(a.application_name, ''), 'no application name'), coalesce(a.state, '?'),
                       coalesce(to_char(a.xact_start, 'HH24:MI:SS'), '?'), coalesce(c.relname, l.locktype)
                FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid LEFT JOIN pg_class c ON c.oid = l.relation
                WHERE l.granted AND l.mode = 'AccessExclusiveLock' AND l.pid <> pg_backend_pid()
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                ORDER BY l.pid LIMIT 5
                """), !result.rows.isEmpty else { return generic }
        let holders = result.rows.map { row in
            "pid \(row[0] ?? "?") (\(row[1] ?? "?"), \(row[2] ?? "?"), transaction since \(row[3] ?? "?")) on \"\(row[4] ?? "?")\""
        }
        return "waiting for a lock held by " + holders.joined(separator: "; ") + "; nothing was changed"
    }
}

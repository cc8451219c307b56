import FleetModel
import Foundation
import PostgresClient
import Synchronization

/// Room in a server's shared lock table for in-place restores. An in-place restore is one
/// transaction that drops and recreates every object of the backup, holding a lock on each until
/// it commits; PostgreSQL's lock table is shared by the whole server and a transaction that finds
/// it full fails with "out of shared memory". So an in-place restore estimates its locks first,
/// is refused when it alone cannot fit, and within one process waits until the in-place restores
/// already running on the same server leave it room.
enum LockBudget {
    /// The locks an in-place restore of `dump` takes, estimated from what it drops and recreates:
    /// a custom dump's table of contents (`pg_restore --list`), a plain dump's CREATE and ADD
    /// CONSTRAINT statements. The weights are distinct lock-table entries measured per object in
    /// `pg_restore --clean --if-exists --single-transaction` over an existing copy: a table (with
    /// its row and array types, TOAST table, TOAST index, dropped and made again) 8, a foreign key
    /// (its triggers on both tables) 5, a primary key or unique constraint (with its index) 3, a
    /// sequence 3, an index 2, any other object 2; data, comments, grants and sequence values none
    /// (their objects are locked already). Plus a quarter and 20 for what the weights miss (a
    /// drill measured 21 % more than the weights alone on tables with a key, a unique, a foreign
    /// key and an index each).
    static func estimate(_ dump: CheckedDump, format: BackupFormat, tools: PgTools, live: [String: Int] = [:]) async throws -> Int {
        weighted(try await kinds(of: dump, format: format, tools: tools).merging(live, uniquingKeysWith: max))
    }

    /// The live database's objects by the same kinds: what `--clean` drops is what the database
    /// holds now (a migration's extra indexes too), not only what the dump holds. Per kind, the
    /// larger of the two counts is taken.
    static func liveKinds(on connection: PostgresConnection) async throws -> [String: Int] {
        let user = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"
        let result = try await connection.query("""
            SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'm') AND \(user)),
                   (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('i', 'I') AND \(user)
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)),
                   (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND \(user)),
                   (SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE k.contype = 'f' AND \(user)),
                   (SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE k.contype IN ('p', 'u', 'x') AND \(user))
            """)
        return ["TABLE": try result.int(0, 0, "tables"), "INDEX": try result.int(0, 1, "indexes"), "SEQUENCE": try result.int(0, 2, "sequences"),
                "FK CONSTRAINT": try result.int(0, 3, "foreign keys"), "CONSTRAINT": try result.int(0, 4, "constraints")]
    }

    static func kinds(of dump: CheckedDump, format: BackupFormat, tools: PgTools) async throws -> [String: Int] {
        let kinds: [String: Int]
        switch format {
        case .custom:
            let listed = try await ChildProcess(tools.pgRestore, ["--list", dump.path]).run(output: .captured(limit: 64 << 20))
            guard listed.succeeded else { throw FleetEngineError.toolFailed(tool: "pg_restore", status: listed.statusText, message: listed.errorTail) }
            kinds = tableOfContents(listed.standardOutput)
        case .plain:
            let program = #"""
                /^CREATE (UNLOGGED )?TABLE / { k["TABLE"]++; next }
                /^CREATE MATERIALIZED VIEW / { k["TABLE"]++; next }
                /^CREATE (UNIQUE )?INDEX / { k["INDEX"]++; next }
                /^CREATE SEQUENCE / { k["SEQUENCE"]++; next }
                /^    ADD CONSTRAINT .* FOREIGN KEY/ { k["FK CONSTRAINT"]++; next }
                /^    ADD CONSTRAINT / { k["CONSTRAINT"]++; next }
                /^CREATE / { k["OTHER"]++; next }
                END { for (name in k) print name "=" k[name] }
                """#
            let counted = try await ChildProcess("awk", [program, dump.path]).run(output: .captured(limit: 1 << 20))
            guard counted.succeeded else { throw FleetEngineError.toolFailed(tool: "awk", status: counted.statusText, message: counted.errorTail) }
            kinds = counted.standardOutput.split(separator: "\n").reduce(into: [:]) { kinds, line in
                let parts = line.split(separator: "=", maxSplits: 1)
                if parts.count == 2, let count = Int(parts[1]) { kinds[String(parts[0])] = count }
            }
        }
        return kinds
    }

    /// Entries of `pg_restore --list` counted by kind (`TABLE`, `INDEX`, `FK CONSTRAINT`, …);
    /// kinds that take no lock of their own are left out.
    static func tableOfContents(_ listing: String) -> [String: Int] {
        let lockless = ["TABLE DATA", "SEQUENCE SET", "SEQUENCE OWNED BY", "MATERIALIZED VIEW DATA", "COMMENT", "ACL",
                        "DEFAULT ACL", "BLOBS", "BLOB", "BLOB DATA", "LARGE OBJECT", "ENCODING", "STDSTRINGS", "SEARCHPATH", "DATABASE"]
        let known = ["TABLE", "INDEX", "FK CONSTRAINT", "CONSTRAINT", "SEQUENCE", "MATERIALIZED VIEW"]
        var kinds: [String: Int] = [:]
        for line in listing.split(separator: "\n") where !line.hasPrefix(";") {
            // `218; 1259 16390 TABLE public t1 owner`: the kind follows the two OIDs.
            let fields = line.split(separator: " ", maxSplits: 3)
            guard fields.count == 4 else { continue }
            let rest = String(fields[3])
            if lockless.contains(where: { rest.hasPrefix($0 + " ") }) { continue }
            let kind = known.filter { rest.hasPrefix($0 + " ") }.max { $0.count < $1.count } ?? "OTHER"
            kinds[kind == "MATERIALIZED VIEW" ? "TABLE" : kind, default: 0] += 1
        }
        return kinds
    }

    static func weighted(_ kinds: [String: Int]) -> Int {
        let weights = ["TABLE": 8, "FK CONSTRAINT": 5, "CONSTRAINT": 3, "SEQUENCE": 3, "INDEX": 2]
        let sum = kinds.reduce(0) { $0 + $1.value * (weights[$1.key] ?? 2) }
        return sum + sum / 4 + 20
    }

    /// The size of a server's lock table and the settings it comes from. PostgreSQL sizes it for
    /// `max_locks_per_transaction` × every process that may hold locks: `max_connections`,
    /// `max_prepared_transactions`, the autovacuum workers and their launcher, `max_worker_processes`
    /// and `max_wal_senders` (the documentation's formula names only the first two; the table is
    /// made for all of them, and a little more fits in the spare shared memory, left as a margin
    /// for the server's other sessions).
    struct Capacity: Sendable, Equatable {
        var locks: Int
        var perTransaction: Int
        var processes: Int

        var text: String { "max_locks_per_transaction \(perTransaction) × \(processes) processes = \(locks)" }
    }

    static func capacity(on connection: PostgresConnection) async throws -> Capacity {
        let rows = try await connection.query("""
            SELECT name, setting FROM pg_settings WHERE name IN ('max_locks_per_transaction', 'max_connections',
              'max_prepared_transactions', 'autovacuum_max_workers', 'autovacuum_worker_slots', 'max_worker_processes', 'max_wal_senders')
            """).rows
        var settings: [String: Int] = [:]
        for row in rows { if let name = row[0], let value = row[1].flatMap({ Int($0) }) { settings[name] = value } }
        let perTransaction = settings["max_locks_per_transaction"] ?? 64
        let autovacuum = settings["autovacuum_worker_slots"] ?? settings["autovacuum_max_workers"] ?? 3
        let processes = (settings["max_connections"] ?? 100) + (settings["max_prepared_transactions"] ?? 0) + autovacuum + 1
            + (settings["max_worker_processes"] ?? 8) + (settings["max_wal_senders"] ?? 10)
        return Capacity(locks: perTransaction * processes, perTransaction: perTransaction, processes: processes)
    }

    /// The in-place restores of this process, per server: how many locks they hold, and who waits.
    /// Waiters are served in order, so a large restore is not overtaken forever by small ones.
    final class Servers: Sendable {
        static let shared = Servers()

        private struct Waiter {
            let id: UInt64
            let locks: Int
            let continuation: CheckedContinuation<Void, any Error>
        }
        private struct Server {
            var held = 0
            var running = 0
            var waiters: [Waiter] = []
        }
        private struct State {
            var servers: [String: Server] = [:]
            var nextID: UInt64 = 0
        }
        private let state = Mutex(State())

        /// Restores waiting for room on `server` now.
        func waiting(on server: String) -> Int { state.withLock { $0.servers[server]?.waiters.count ?? 0 } }

        /// Waits until `locks` fit beside what the running restores hold (at once when none runs);
        /// `onWait` is called when it has to wait, with the restores running and the locks they hold.
        func reserve(_ locks: Int, of capacity: Int, on server: String,
                     onWait: @Sendable (_ running: Int, _ held: Int) -> Void) async throws -> Reservation {
            let id = state.withLock { state -> UInt64 in state.nextID += 1; return state.nextID }
            let queued = Mutex<(running: Int, held: Int)?>(nil)
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let waited: (Int, Int)? = state.withLock { state in
                        var entry = state.servers[server] ?? Server()
                        defer { state.servers[server] = entry }
                        if Task.isCancelled {
                            continuation.resume(throwing: CancellationError())
                            return nil
                        }
                        if entry.waiters.isEmpty && (entry.running == 0 || entry.held + locks <= capacity) {
                            entry.held += locks
                            entry.running += 1
                            continuation.resume()
                            return nil
                        }
                        entry.waiters.append(Waiter(id: id, locks: locks, continuation: continuation))
                        return (entry.running, entry.held)
                    }
                    if let waited {
                        queued.withLock { $0 = (waited.0, waited.1) }
                        onWait(waited.0, waited.1)
                    }
                }
            } onCancel: {
                let cancelled = state.withLock { state -> Waiter? in
                    guard let index = state.servers[server]?.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.servers[server]!.waiters.remove(at: index)
                }
                cancelled?.continuation.resume(throwing: CancellationError())
            }
            return Reservation(servers: self, server: server, locks: locks, capacity: capacity, queued: queued.withLock { $0 })
        }

        fileprivate func release(_ locks: Int, capacity: Int, on server: String) {
            let started = state.withLock { state -> [Waiter] in
                guard var entry = state.servers[server] else { return [] }
                entry.held -= locks
                entry.running -= 1
                var started: [Waiter] = []
                while let next = entry.waiters.first, entry.running == 0 || entry.held + next.locks <= capacity {
                    entry.waiters.removeFirst()
                    entry.held += next.locks
                    entry.running += 1
                    started.append(next)
                }
                state.servers[server] = entry.running == 0 && entry.waiters.isEmpty ? nil : entry
                return started
            }
            for waiter in started { waiter.continuation.resume() }
        }
    }

    /// Locks reserved on a server, given back when this goes away.
    final class Reservation: Sendable {
        private let servers: Servers
        private let server: String
        private let locks: Int
        private let capacity: Int
        /// It had to wait: how many restores were running then, holding how many locks.
        let queued: (running: Int, held: Int)?

        fileprivate init(servers: Servers, server: String, locks: Int, capacity: Int, queued: (running: Int, held: Int)?) {
            self.servers = servers
            self.server = server
            self.locks = locks
            self.capacity = capacity
            self.queued = queued
        }

        deinit { servers.release(locks, capacity: capacity, on: server) }
    }
}

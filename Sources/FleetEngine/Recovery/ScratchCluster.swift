import Foundation
import PostgresClient

/// A throwaway PostgreSQL cluster that pgBackRest restores into a private directory: started with
/// no TCP listener and its socket in that directory, recovered up to the target and promoted,
/// then stopped and removed whatever happened. The directory is the data directory and the socket
/// directory; it is mode 0700 and belongs to the cluster's owner.
struct ScratchCluster: Sendable {
    let directory: String
    /// Names the socket (`.s.PGSQL.<port>`); nothing listens on it over TCP.
    let port: Int
    let binDirectory: String
    let owner: ClusterOwner

    var logPath: String { directory + "/gwi-fleet-recovery.log" }
    private var pgCtl: String { binDirectory + "/pg_ctl" }
    private var hbaPath: String { directory + "/gwi-fleet-hba.conf" }
    private var identPath: String { directory + "/gwi-fleet-ident.conf" }

    /// `gwi-fleet-pitr-<slug or database>-<YYYYMMDDTHHMMSSZ>-<4 hex>`: `leftovers` can tell it is
    /// ours and how old it is from the name alone.
    static func name(for label: String, at date: Date) -> String {
        "gwi-fleet-pitr-\(nameLabel(label))-\(Timestamp.compact(date))-\(String(format: "%04x", UInt16.random(in: 0...UInt16.max)))"
    }

    /// The label as a scratch directory's name holds it: safe characters, at most 40 of them.
    static func nameLabel(_ label: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        return String(label.map { allowed.contains($0) ? $0 : "_" }.prefix(40))
    }

    /// Makes the empty directory pgBackRest restores into.
    static func create(in parent: String, name: String, owner: ClusterOwner, binDirectory: String) throws -> ScratchCluster {
        let directory = (parent.hasSuffix("/") && parent.count > 1 ? String(parent.dropLast()) : parent) + "/" + name
        // pg_ctl hands the server's options to a shell, and the socket path has a hard limit.
        guard !directory.contains("'"), !directory.contains("\""), !directory.contains("\\") else {
            throw PgBackRestRecoveryError.scratch(path: directory, operation: "use (quotes or backslashes in the path)", errno: EINVAL)
        }
        let port = try freePort()
        let socket = directory + "/.s.PGSQL.\(port)"
        guard socket.utf8.count <= 107 else { throw PgBackRestRecoveryError.socketPathTooLong(path: socket) }
        try owner.makeDirectory(directory)
        return ScratchCluster(directory: directory, port: port, binDirectory: binDirectory, owner: owner)
    }

    /// Starts the restored cluster with overrides that keep it apart from the source (whose
    /// postgresql.conf it was restored with): no TCP, no archiving into the source's stanza, its
    /// own authentication, and the settings recovery requires to match the source.
    func start(_ source: SourceServer, target: Date, until deadline: ContinuousClock.Instant) async throws {
        // Debian keeps the configuration in /etc, so the restored directory may have none.
        if !FileManager.default.fileExists(atPath: directory + "/postgresql.conf") {
            try owner.writeFile(directory + "/postgresql.conf", "")
        }
        // Its own pg_hba.conf even when one was restored: the source's may ask for passwords or
        // peer authentication the caller cannot give. Trust reaches only those who can enter this
        // 0700 directory: its owner and root.
        try owner.writeFile(hbaPath, "local all all trust\n")
        try owner.writeFile(identPath, "")
        let settings = [
            "port=\(port)", "listen_addresses=''", "unix_socket_directories='\(directory)'", "archive_mode=off",
            "autovacuum=off", "logging_collector=off", "hba_file='\(hbaPath)'", "ident_file='\(identPath)'",
            "hot_standby=on", "ssl=off", "external_pid_file=''",
            // The source's shared_buffers may be a quarter of this host's memory.
            "shared_buffers=128MB",
        ]
            // The databases --db-include left out are zeroed files; WAL that touches them (a vacuum of
            // another venue's table) must not stop the recovery (pgBackRest's own advice, PG 13 on).
            + (source.major >= 13 ? ["ignore_invalid_pages=on"] : [])
            + source.requiredSettings
        let result = try await owner.process(pgCtl, [
            "-D", directory, "-l", logPath, "-w", "-t", String(max(1, ContinuousClock.now.duration(to: deadline).components.seconds)),
            "-o", settings.map { "-c \($0)" }.joined(separator: " "), "start",
        ]).run(output: .captured(limit: 64 * 1024))
        guard result.succeeded else { throw failure("did not start (pg_ctl \(result.statusText))", target: target) }
    }

    /// Waits until recovery has ended and the cluster is promoted, then returns the commit time of
    /// the last transaction it replayed (nil when it replayed none). Fails early, with the log's
    /// FATAL line, when the server dies (recovery that ran out of WAL before the target).
    func waitUntilPromoted(user: String, target: Date, until deadline: ContinuousClock.Instant, limit: Duration) async throws -> Date? {
        let info = try connectionInfo(database: "postgres", user: user)
        var connection: PostgresConnection?
        // A server whose recovery failed stays up a moment while it shuts down, refusing
        // connections ("the database system is in recovery mode"): refusals are waited out for a
        // while, and the log's verdict wins as soon as there is one.
        var refusedSince: ContinuousClock.Instant?
        while true {
            do {
                let open: PostgresConnection
                if let connection { open = connection } else { open = try await PostgresConnection.connect(info) }
                connection = open
                refusedSince = nil
                if try await open.query("SELECT pg_is_in_recovery()").scalar == "f" {
                    let replayed = try await open.query("SELECT extract(epoch FROM pg_last_xact_replay_timestamp())::text").scalar
                    return replayed.flatMap(Double.init).map(Date.init(timeIntervalSince1970:))
                }
            } catch let error as PostgresError where error != .cancelled {
                connection = nil
                if recoveryFailed() || !serverRunning() { throw failure("stopped while recovering", target: target) }
                let since = refusedSince ?? ContinuousClock.now
                refusedSince = since
                if !error.isTransient && since.duration(to: ContinuousClock.now) > .seconds(10) {
                    throw PgBackRestRecoveryError.scratchQuery(step: "ask the scratch cluster in \(directory) whether it is still recovering", error)
                }
            }
            guard serverRunning() else { throw failure("stopped while recovering", target: target) }
            guard ContinuousClock.now < deadline else { throw PgBackRestRecoveryError.recoveryTimedOut(directory: directory, limit: limit) }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// libpq settings for a database of the running cluster: its socket, no password.
    func connectionInfo(database: String, user: String) throws -> ConnectionInfo {
        let quoted = { (value: String) in "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'" }
        do {
            return try ConnectionInfo(parsing: "host=\(quoted(directory)) port=\(port) dbname=\(quoted(database)) user=\(quoted(user)) connect_timeout=10")
        } catch {
            throw PgBackRestRecoveryError.scratchQuery(step: "describe the scratch cluster's socket", error)
        }
    }

    /// Stops the cluster (fast, then immediate, then SIGKILL) and removes its directory. Runs in a
    /// task of its own, so it finishes also when the caller was cancelled (Ctrl-C). Returns why
    /// something was left behind, or nil.
    func tearDown() async -> String? {
        await Task { await stopAndRemove() }.value
    }

    private func stopAndRemove() async -> String? {
        for (mode, seconds) in [("fast", 30), ("immediate", 10)] where !serverProcesses().isEmpty {
            _ = try? await owner.process(pgCtl, ["-D", directory, "-m", mode, "-w", "-t", String(seconds), "stop"]).run()
        }
        var remaining = serverProcesses()
        if !remaining.isEmpty {
            // Its children first: once the postmaster is gone they would belong to init.
            let everything = remaining + Self.descendants(of: remaining)
            for pid in everything { kill(pid, SIGKILL) }
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline, everything.contains(where: { kill($0, 0) == 0 }) {
                try? await Task.sleep(for: .milliseconds(20))
            }
            remaining = serverProcesses()
        }
        guard remaining.isEmpty else { return "postgres (pid \(remaining.map(String.init).joined(separator: ", "))) would not stop" }
        do {
            if FileManager.default.fileExists(atPath: directory) { try FileManager.default.removeItem(atPath: directory) }
        } catch {
            return "cannot remove it: \(error.localizedDescription)"
        }
        return nil
    }

    /// The postmaster named in postmaster.pid, if it is alive and serves this directory.
    private func serverRunning() -> Bool {
        guard let text = try? String(contentsOfFile: directory + "/postmaster.pid", encoding: .utf8),
              let pid = text.split(separator: "\n").first.flatMap({ pid_t($0) }) else { return false }
        return kill(pid, 0) == 0 && Self.arguments(of: pid).contains(directory)
    }

    /// The postmaster of this directory and, while pg_ctl starts one, the shell it starts it
    /// through (found by its command line, so also before postmaster.pid exists).
    private func serverProcesses() -> [pid_t] {
        let quoted = "-D \"\(directory)\""
        return Self.processIDs().filter { pid in
            pid != getpid() && Self.arguments(of: pid).contains { $0 == directory || $0.contains(quoted) }
        }
    }

    private static func processIDs() -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
    }

    private static func arguments(of pid: pid_t) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Children, grandchildren … of `roots`, from the parent field of /proc/<pid>/stat.
    private static func descendants(of roots: [pid_t]) -> [pid_t] {
        var parents: [pid_t: pid_t] = [:]
        for pid in processIDs() {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = pid_t(fields[1]) { parents[pid] = parent }
        }
        var found: [pid_t] = []
        var frontier = Set(roots)
        while !frontier.isEmpty {
            let children = parents.filter { frontier.contains($0.value) }.map(\.key).filter { !found.contains($0) && !roots.contains($0) }
            found += children
            frontier = Set(children)
        }
        return found
    }

    private func log() -> String {
        FileManager.default.contents(atPath: logPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// The log says the startup process failed: the server is going down, whether or not it is gone yet.
    private func recoveryFailed() -> Bool {
        let log = log()
        return log.contains("recovery ended before configured recovery target was reached")
            || log.contains("aborting startup due to startup process failure")
    }

    /// The error for a server that did not start or died, with its log's last words.
    private func failure(_ step: String, target: Date) -> PgBackRestRecoveryError {
        let log = log()
        let words = Self.lastWords(ofLog: log)
        if log.contains("recovery ended before configured recovery target was reached") {
            return .targetNotReached(target: target, fatal: words)
        }
        return .serverFailed(directory: directory, step: step, fatal: words)
    }

    /// The FATAL and PANIC lines of a server log (the last two), or its last three lines.
    static func lastWords(ofLog log: String) -> String {
        let lines = log.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let fatal = lines.filter { $0.contains("FATAL:") || $0.contains("PANIC:") }
        return (fatal.isEmpty ? lines.suffix(3) : fatal.suffix(2)).joined(separator: "; ")
    }

    /// A local port nothing uses right now. The cluster never listens on it over TCP, but the port
    /// names its socket and seeds its System V shared-memory key, so a free one keeps it clear of
    /// the other clusters on this host.
    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw PgBackRestRecoveryError.scratch(path: "127.0.0.1", operation: "open a socket on", errno: errno) }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { throw PgBackRestRecoveryError.scratch(path: "127.0.0.1", operation: "find a free port on", errno: errno) }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

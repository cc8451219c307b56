import Foundation

/// Runs helper programs for test set-up (psql, initdb, pg_restore) and returns their output.
///
/// Uses posix_spawn and waitpid directly, with output going to temporary files: Foundation's
/// `Process.waitUntilExit` was seen to hang here while other threads waited on a lazy static.
public enum Shell {
    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

    /// The result of a finished program.
    public struct Output: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs and throws unless the exit status is 0; returns stdout.
    @discardableResult
    /// Writes an executable script. The file run later is written by a child (`install`), never
    /// through a descriptor of this process: with tests forking gwi-fleet children all the time, a
    /// descriptor open for writing here can be inherited by one of them, and running the script
    /// then fails with ETXTBSY ("Text file busy") for as long as that child lives.
    public static func installExecutable(_ text: String, at path: String) throws {
        let source = path + ".source"
        try text.write(toFile: source, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: source) }
        _ = try run("/usr/bin/install", ["-m", "0755", source, path])
    }

    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let output = try capture(executable, arguments, environment: environment)
        guard output.status == 0 else {
            throw Failure(message: "\(executable) \(arguments.joined(separator: " ")) exited \(output.status): \(output.stderr)")
        }
        return output.stdout
    }

    /// `run` on a thread of its own.
    @discardableResult
    public static func runInBackground(_ executable: String, _ arguments: [String],
                                       environment: [String: String]? = nil) async throws -> String {
        let output = try await captureInBackground(executable, arguments, environment: environment)
        guard output.status == 0 else {
            throw Failure(message: "\(executable) \(arguments.joined(separator: " ")) exited \(output.status): \(output.stderr)")
        }
        return output.stdout
    }

    /// `capture` on a thread of its own, so waiting for the child never holds the cooperative pool.
    public static func captureInBackground(_ executable: String, _ arguments: [String],
                                           environment: [String: String]? = nil, stdinFile: String = "/dev/null") async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try capture(executable, arguments, environment: environment, stdinFile: stdinFile) })
            }.start()
        }
    }

    /// Runs and returns whatever happened; a signal death is reported as 128 + signal.
    public static func capture(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                               stdinFile: String = "/dev/null") throws -> Output {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-shell-\(UUID().uuidString)").path
        let outPath = base + ".out", errPath = base + ".err"
        defer { unlink(outPath); unlink(errPath) }
        let pid = try spawn(executable, arguments, environment: environment, stdin: stdinFile, stdout: outPath, stderr: errPath)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = status & 0x7f == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return Output(status: code, stdout: read(outPath), stderr: read(errPath))
    }

    /// Starts a program with stdin from /dev/null and stdout/stderr into files (or /dev/null).
    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                             stdin: String = "/dev/null", stdout: String = "/dev/null", stderr: String = "/dev/null") throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let environment = environment ?? ProcessInfo.processInfo.environment
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else { throw Failure(message: "cannot start \(executable): \(String(cString: strerror(spawned)))") }
        return pid
    }
}

/// Finds processes by their command line, through /proc.
public enum ProcessTable {
    public static func pids(commandContaining needles: [String]) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry),
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let command = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return needles.allSatisfy(command.contains) ? pid : nil
        }
    }
}

extension ProcessTable {
    /// Processes whose command line (arguments joined by spaces) starts with `prefix`.
    public static func pids(commandStartingWith prefix: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).hasPrefix(prefix) ? pid : nil
        }
    }

    /// Watches /proc from a thread of its own and freezes (SIGSTOP) the first matching process the
    /// moment it appears, so a test can act on a child at a known point. Nil after `timeout`.
    public static func freezeFirst(commandContaining needles: [String], timeout: Duration = .seconds(30)) async -> pid_t? {
        await withCheckedContinuation { continuation in
            Thread {
                let deadline = ContinuousClock.now + timeout
                while ContinuousClock.now < deadline {
                    if let pid = pids(commandContaining: needles).first {
                        kill(pid, SIGSTOP)
                        continuation.resume(returning: pid)
                        return
                    }
                    usleep(500)
                }
                continuation.resume(returning: nil)
            }.start()
        }
    }
}

import Foundation
import PostgresClient
import Subprocess
import Synchronization
import SystemPackage

/// The one way gwi-fleet runs a program (pg_dump, pg_restore, psql, exec's command, gzip, zstd, age).
///
/// - Secrets travel in `environment` only, never in `arguments`.
/// - The child leads a process group of its own. Cancelling the calling task sends SIGTERM to the
///   whole group and SIGKILL after `grace`; when the child exits, whatever it left running in its
///   group (a shell's background jobs) is ended the same way, so no grandchild outlives the run.
/// - Standard error is captured up to a limit and redacted (known secrets and URL passwords).
public struct ChildProcess: Sendable {
    /// Where the child's standard input comes from.
    public enum Input: Sendable {
        case none
        /// A descriptor handed to the child and closed here once it started.
        case descriptor(Int32)
    }

    /// Where the child's standard output goes.
    public enum Output: Sendable {
        case discarded
        /// A descriptor handed to the child; `closeAfterStart` closes our copy once it started.
        case descriptor(Int32, closeAfterStart: Bool)
        /// Collected as text up to the limit.
        case captured(limit: Int)
    }

    /// How the child ended and what it said.
    public struct Result: Sendable {
        public var status: TerminationStatus
        public var standardOutput: String
        /// Redacted, at most `errorLimit` bytes.
        public var standardError: String
        public var succeeded: Bool { status.isSuccess }

        /// `exited with status 1`, `was killed by signal 9`.
        public var statusText: String { ChildProcess.describe(status) }

        /// The last error lines of standard error (`pg_restore: error: …`, `FATAL: …`), or its last
        /// lines when none says so, joined for a one-line message.
        public var errorTail: String {
            let lines = standardError.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let errors = lines.filter { $0.contains("error:") || $0.contains("ERROR:") || $0.contains("FATAL:") }
            return (errors.isEmpty ? lines : errors).suffix(3).joined(separator: "; ")
        }
    }

    public var executable: String
    public var arguments: [String]
    /// Added to the inherited environment; the only place a password may go.
    public var environment: [String: String]
    /// Removed from the inherited environment.
    public var unsetEnvironment: Set<String> = []
    /// `false`: the child gets `environment` and nothing of gwi-fleet's own (exec's command).
    public var inheritsEnvironment = true
    /// Texts taken out of captured output (passwords from `environment` are added automatically).
    public var secrets: [String]
    /// Between SIGTERM and SIGKILL.
    public var grace: Duration
    public var errorLimit: Int
    /// Error output written here instead of captured (exec's log).
    public var errorDescriptor: Int32?

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], secrets: [String] = [],
                grace: Duration = .seconds(2), errorLimit: Int = 64 * 1024, errorDescriptor: Int32? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.secrets = secrets
        self.grace = grace
        self.errorLimit = errorLimit
        self.errorDescriptor = errorDescriptor
    }

    /// The program's file name, for messages.
    public var name: String { URL(fileURLWithPath: executable).lastPathComponent }

    /// Runs the child to its end. Throws only when it cannot start or the task was cancelled (after
    /// the child and its group are gone); a non-zero exit is a normal result.
    public func run(input: Input = .none, output: Output = .discarded) async throws -> Result {
        var platform = PlatformOptions()
        platform.processGroupID = 0
        platform.teardownSequence = [.send(signal: .terminate, toProcessGroup: true, allowedDurationToNextStep: grace)]
        let executable: Executable = self.executable.contains("/") ? .path(.init(self.executable)) : .name(self.executable)
        let configuration = Configuration(
            executable: executable, arguments: Arguments(arguments),
            environment: inheritsEnvironment
                ? .inherit.updating(environment.reduce(into: unsetEnvironment.reduce(into: [Environment.Key: String?]()) {
                    $0[.init(stringLiteral: $1)] = .some(nil)
                }) { $0[.init(stringLiteral: $1.key)] = $1.value })
                : .custom(environment.reduce(into: [Environment.Key: String]()) { $0[.init(stringLiteral: $1.key)] = $1.value }),
            platformOptions: platform)
        let group = Mutex<pid_t?>(nil)
        let stdout: String
        let stderr: String
        let status: TerminationStatus
        do {
            (status, stdout, stderr) = try await start(configuration, input: input, output: output, group: group)
        } catch {
            if let leader = group.withLock({ $0 }) { await Self.endGroup(leader, grace: grace) }
            throw error
        }
        // Whatever the child left running in its group (a shell's background job) goes with it.
        if let leader = group.withLock({ $0 }) { await Self.endGroup(leader, grace: grace) }
        try Task.checkCancellation()
        return Result(status: status, standardOutput: stdout, standardError: redact(stderr))
    }

    private func start(_ configuration: Configuration, input: Input, output: Output,
                       group: borrowing Mutex<pid_t?>) async throws -> (TerminationStatus, String, String) {
        let stdout: String
        let stderr: String
        let status: TerminationStatus
        switch (input, output) {
        case (_, .captured(let limit)):
            let result = try await runWith(configuration, input: input, output: .string(limit: limit), group: group)
            (status, stdout, stderr) = (result.0, result.1 ?? "", result.2)
        case (_, .discarded):
            let result = try await runWith(configuration, input: input, output: .discarded, group: group)
            (status, stdout, stderr) = (result.0, "", result.2)
        case (_, .descriptor(let fd, let close)):
            let result = try await runWith(configuration, input: input,
                                           output: .fileDescriptor(FileDescriptor(rawValue: fd), closeAfterSpawningProcess: close),
                                           group: group)
            (status, stdout, stderr) = (result.0, "", result.2)
        }
        return (status, stdout, stderr)
    }

    private func runWith<O: OutputProtocol>(
        _ configuration: Configuration, input: Input, output: O,
        group: borrowing Mutex<pid_t?>
    ) async throws -> (TerminationStatus, O.OutputType, String) where O.OutputType: Sendable {
        let inputMethod: FileDescriptorInput
        switch input {
        case .none: inputMethod = .fileDescriptor(try Self.devNull(), closeAfterSpawningProcess: true)
        case .descriptor(let fd): inputMethod = .fileDescriptor(FileDescriptor(rawValue: fd), closeAfterSpawningProcess: true)
        }
        if let errorDescriptor {
            // Standard error into a file of ours: reuse the same descriptor for stdout when asked.
            let result = try await Subprocess.run(
                configuration, input: inputMethod, output: output,
                error: .fileDescriptor(FileDescriptor(rawValue: errorDescriptor), closeAfterSpawningProcess: false)
            ) { execution in
                group.withLock { $0 = execution.processIdentifier.value }
            }
            return (result.terminationStatus, result.standardOutput, "")
        }
        let result = try await Subprocess.run(configuration, input: inputMethod, output: output,
                                              error: .string(limit: errorLimit)) { execution in
            group.withLock { $0 = execution.processIdentifier.value }
        }
        return (result.terminationStatus, result.standardOutput, result.standardError ?? "")
    }

    private static func devNull() throws -> FileDescriptor {
        try FileDescriptor.open("/dev/null", .readOnly, options: [.closeOnExec])
    }

    /// Ends what is left of the child's process group: SIGTERM, then SIGKILL after `grace`.
    /// Waits with `Task.sleep` in an uncancelled task, so it finishes also when the caller was
    /// cancelled and never holds a thread of the cooperative pool.
    static func endGroup(_ leader: pid_t, grace: Duration) async {
        guard kill(-leader, 0) == 0 else { return }
        kill(-leader, SIGTERM)
        await Task {
            let deadline = ContinuousClock.now + grace
            while ContinuousClock.now < deadline {
                if kill(-leader, 0) != 0 { return }
                try? await Task.sleep(for: .milliseconds(20))
            }
            kill(-leader, SIGKILL)
        }.value
    }

    func redact(_ text: String) -> String {
        var result = ConnectionInfo.redacting(text)
        let known = (secrets + environment.filter { ChildProcess.secretVariables.contains($0.key) }.map(\.value))
            .filter { $0.count >= 3 }.sorted { $0.count > $1.count }
        for secret in known { result = result.replacingOccurrences(of: secret, with: "***") }
        if result.utf8.count > errorLimit { result = String(result.suffix(errorLimit)) }
        return result
    }

    /// Environment variables whose values never appear in captured output.
    static let secretVariables: Set<String> = ["PGPASSWORD", "PGSSLPASSWORD", "DATABASE_URL", "DIRECT_URL", "AGE_IDENTITY"]

    public static func describe(_ status: TerminationStatus) -> String {
        switch status {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "was killed by signal \(signal)"
        }
    }

    /// The error for a child that did not succeed, naming it and its last words.
    public func failure(_ result: Result) -> FleetEngineError {
        .toolFailed(tool: name, status: result.statusText, message: result.errorTail)
    }
}

import FleetModel
import Foundation
import Logging
import PostgresClient
import Subprocess  // TerminationStatus, as ChildProcess reports it

/// `gwi-fleet exec -- COMMAND …` on one venue: a backup first (unless told not to), the command
/// with the venue's URLs in its environment and its output in a log file, and, with `--rollback`,
/// a restore from that backup when the command fails.
public struct ExecOperation: Sendable {
    public var command: [String]
    public var backupFirst: Bool
    public var rollback: Bool
    /// Roll back with `restore --in-place` instead of the rename swap.
    public var inPlace: Bool
    public var logDirectory: String
    public var tools: PgTools
    public var connector: VenueConnector
    /// What the command gets from gwi-fleet's environment, and what its log must not keep.
    public var environment: ExecEnvironment

    public init(command: [String], backupFirst: Bool = true, rollback: Bool = false, inPlace: Bool = false,
                logDirectory: String, tools: PgTools, connector: VenueConnector = VenueConnector(),
                environment: ExecEnvironment = ExecEnvironment()) {
        self.environment = environment
        self.command = command
        self.backupFirst = backupFirst
        self.rollback = rollback
        self.inPlace = inPlace
        self.logDirectory = logDirectory
        self.tools = tools
        self.connector = connector
    }

    public func run(_ venue: Venue) async throws -> ExecResult {
        // The venue is ours from the backup through the command to any rollback: no backup,
        // restore or other exec of it runs in between.
        let lock = try await VenueLock.acquire(directory: try BackupCatalog.prepareDirectory(of: venue))
        defer { withExtendedLifetime(lock) {} }
        var result = ExecResult(backup: nil)
        if backupFirst {
            let manifest = try await VenueDumper(tools: tools, connector: connector).backup(venue, lockHeld: true, purpose: .preExec)
            result.backup = BackupCatalog.directory(of: venue) + "/" + manifest.file
        } else {
            result.warnings.append("no backup taken before the command (--no-backup)")
        }

        try DurableFile.makePrivateDirectory(logDirectory)
        let log = logDirectory + "/" + venue.slug + ".log"
        result.log = log
        let status: TerminationStatus
        do {
            status = try await execute(venue, log: log)
        } catch {
            // Killed at the timeout or by Ctrl-C: the command may have left the venue half-changed.
            if let backupPath = result.backup, rollback {
                let text = await rollBack(venue, from: backupPath, into: &result)
                throw VenueFailure("\(command[0]) was stopped; \(text)", result: result)
            }
            throw error
        }
        switch status {
        case .exited(let value): result.exitCode = .code(Int(value))
        case .signaled(let signal): result.exitCode = .signal("signal \(signal)")
        }
        guard status.isSuccess else {
            var message = "\(command[0]) \(ChildProcess.describe(status)) (log: \(log))"
            if rollback {
                if let backupPath = result.backup {
                    message += "; " + (await rollBack(venue, from: backupPath, into: &result))
                } else {
                    message += "; no rollback: no backup was taken (--no-backup)"
                }
            }
            throw VenueFailure(VenueError(message), result: result)
        }
        result.summary = "\(command[0]) exited 0 (log: \(log))"
        return result
    }

    /// Runs the command with stdout and stderr in the log file (through a pipe, with the known
    /// secrets taken out); never through a shell, never with gwi-fleet's own environment.
    func execute(_ venue: Venue, log: String) async throws -> TerminationStatus {
        // O_EXCL: a log is never written over (each run has a directory of its own).
        let descriptor = open(log, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FleetEngineError.file(path: log, operation: "create", errno: errno) }
        defer { close(descriptor) }
        var own = [
            "DATABASE_URL": try connector.urlWithPassword(for: venue, .pooled),
            "DIRECT_URL": try connector.urlWithPassword(for: venue, .direct),
            "GWI_VENUE_SLUG": venue.slug,
            "GWI_VENUE_DATABASE": venue.database,
        ]
        let password = try connector.connectionInfo(for: venue, .direct).password
        if let password { own["PGPASSWORD"] = password }
        let parent = ProcessInfo.processInfo.environment
        var child = ChildProcess(command[0], Array(command.dropFirst()), environment: environment.environment(venue: own, parent: parent),
                                 grace: .seconds(5))
        child.inheritsEnvironment = false
        let pipe = try Pipe.make()
        child.errorDescriptor = pipe.write
        let copy = RedactingLog(from: pipe.read, to: descriptor, secrets: environment.secrets(password: password, parent: parent))
        let result: Result<TerminationStatus, any Error>
        do {
            result = .success(try await child.run(output: .descriptor(pipe.write, closeAfterStart: false)).status)
        } catch {
            result = .failure(error)
        }
        close(pipe.write)
        await copy.finish()
        return try result.get()
    }

    /// Restores the venue from the backup taken before the command, in a task of its own so that
    /// it also runs when the command was stopped by the timeout or Ctrl-C.
    func rollBack(_ venue: Venue, from backup: String, into result: inout ExecResult) async -> String {
        var restore = RestoreOperation(tools: tools, connector: connector, backupFile: backup,
                                       target: inPlace ? .inPlace : .replace, confirmed: true)
        restore.lockHeld = true
        RunContext.logger.notice("rolling back", metadata: ["backup": .string(backup)])
        let outcome = await Task { () -> Result<RestoreResult, FleetEngineErrorText> in
            do { return .success(try await restore.run(venue)) } catch { return .failure(FleetEngineErrorText(FleetRunner.describe(error))) }
        }.value
        switch outcome {
        case .success(let restored):
            result.rolledBack = true
            result.rollback = restored
            return "rolled back from \(URL(fileURLWithPath: backup).lastPathComponent): \(restored.summary)"
        case .failure(let error):
            result.rolledBack = false
            result.rollbackError = error.text
            return "ROLLBACK FAILED: \(error.text); the backup is \(backup)"
        }
    }
}

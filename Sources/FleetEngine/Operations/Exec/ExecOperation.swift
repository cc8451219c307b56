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

    public init(command: [String], backupFirst: Bool = true, rollback: Bool = false, inPlace: Bool = false,
                logDirectory: String, tools: PgTools, connector: VenueConnector = VenueConnector()) {
        self.command = command
        self.backupFirst = backupFirst
        self.rollback = rollback
        self.inPlace = inPlace
        self.logDirectory = logDirectory
        self.tools = tools
        self.connector = connector
    }

    public func run(_ venue: Venue) async throws -> VenueFigures {
        var fields: [(String, JSONValue)] = []
        var warnings: [String] = []
        var backupPath: String?
        if backupFirst {
            let manifest = try await VenueDumper(tools: tools, connector: connector).backup(venue, purpose: .preExec)
            backupPath = BackupCatalog.directory(of: venue) + "/" + manifest.file
            fields.append(("backup", .string(backupPath!)))
        } else {
            warnings.append("no backup taken before the command (--no-backup)")
            fields.append(("backup", .null))
        }

        try DurableFile.makePrivateDirectory(logDirectory)
        let log = logDirectory + "/" + venue.slug + ".log"
        fields.append(("log", .string(log)))
        let status: TerminationStatus
        do {
            status = try await execute(venue, log: log)
        } catch {
            // Killed at the timeout or by Ctrl-C: the command may have left the venue half-changed.
            if let backupPath, rollback {
                let result = await rollBack(venue, from: backupPath)
                throw VenueFailure(message: "\(command[0]) was stopped; \(result.text)",
                                   figures: VenueFigures(fields + result.fields))
            }
            throw error
        }
        let code: JSONValue
        switch status {
        case .exited(let value): code = .int(Int(value))
        case .signaled(let signal): code = .string("signal \(signal)")
        }
        fields.append(("exit_code", code))
        guard status.isSuccess else {
            var message = "\(command[0]) \(ChildProcess.describe(status)) (log: \(log))"
            if rollback {
                if let backupPath {
                    let result = await rollBack(venue, from: backupPath)
                    fields += result.fields
                    message += "; \(result.text)"
                } else {
                    message += "; no rollback: no backup was taken (--no-backup)"
                }
            }
            throw VenueFailure(message: message, figures: VenueFigures(fields, warnings: warnings))
        }
        return VenueFigures(fields, summary: "\(command[0]) exited 0 (log: \(log))", warnings: warnings)
    }

    /// Runs the command with stdout and stderr in the log file; never through a shell.
    func execute(_ venue: Venue, log: String) async throws -> TerminationStatus {
        let descriptor = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FleetEngineError.file(path: log, operation: "create", errno: errno) }
        defer { close(descriptor) }
        var environment = [
            "DATABASE_URL": try connector.urlWithPassword(for: venue, .pooled),
            "DIRECT_URL": try connector.urlWithPassword(for: venue, .direct),
            "GWI_VENUE_SLUG": venue.slug,
            "GWI_VENUE_DATABASE": venue.database,
        ]
        if let password = try connector.connectionInfo(for: venue, .direct).password { environment["PGPASSWORD"] = password }
        let child = ChildProcess(command[0], Array(command.dropFirst()), environment: environment, grace: .seconds(5),
                                 errorDescriptor: descriptor)
        return try await child.run(output: .descriptor(descriptor, closeAfterStart: false)).status
    }

    /// Restores the venue from the backup taken before the command, in a task of its own so that
    /// it also runs when the command was stopped by the timeout or Ctrl-C.
    func rollBack(_ venue: Venue, from backup: String) async -> (text: String, fields: [(String, JSONValue)]) {
        let restore = RestoreOperation(tools: tools, connector: connector, backupFile: backup,
                                       target: inPlace ? .inPlace : .replace, confirmed: true)
        RunContext.logger.notice("rolling back", metadata: ["backup": .string(backup)])
        let result = await Task { () -> Result<VenueFigures, FleetEngineErrorText> in
            do { return .success(try await restore.run(venue)) } catch { return .failure(FleetEngineErrorText(FleetRunner.describe(error))) }
        }.value
        switch result {
        case .success(let figures):
            return ("rolled back from \(URL(fileURLWithPath: backup).lastPathComponent): \(figures.summary)",
                    [("rolled_back", .bool(true)), ("rollback", .object(figures.fields))])
        case .failure(let error):
            return ("ROLLBACK FAILED: \(error.text); the backup is \(backup)",
                    [("rolled_back", .bool(false)), ("rollback_error", .string(error.text))])
        }
    }
}

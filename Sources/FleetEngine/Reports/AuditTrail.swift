import FleetModel
import Foundation
import Logging
import PostgresClient

/// One line of the audit trail: who ran what that changed something, on which venues, and how it ended.
public struct AuditEntry: Codable, Sendable, Equatable {
    /// A venue the run worked on, or a database it dropped (`leftovers --drop`).
    public struct Target: Codable, Sendable, Equatable {
        public var venue: String?
        public var server: String?
        public var database: String?
        public var status: String
        public var detail: String?

        public init(venue: String? = nil, server: String? = nil, database: String? = nil, status: String, detail: String? = nil) {
            (self.venue, self.server, self.database, self.status, self.detail) = (venue, server, database, status, detail)
        }
    }

    public var time: Date
    public var runID: String
    public var user: String
    /// Who ran `sudo gwi-fleet …` (`SUDO_USER`), when set.
    public var sudoUser: String?
    public var host: String
    public var command: String
    /// The command line as typed, with every secret replaced by `***`.
    public var commandLine: [String]
    public var targets: [Target]
    /// `ok`, `failed` or `interrupted`.
    public var result: String
    public var exitCode: Int32
    /// The run's report, where one was saved.
    public var report: String?

    enum CodingKeys: String, CodingKey {
        case time, runID = "run_id", user, sudoUser = "sudo_user", host, command, commandLine = "command_line",
             targets = "venues", result, exitCode = "exit_code", report
    }
}

/// The audit trail: `<reports dir>/audit.jsonl`, one JSON line appended (and fsynced) by every run
/// that changes something (restore, exec, prune, upload, `backup --prune`, `leftovers --drop`).
/// Report retention never removes it (it is not a report's name); nothing gwi-fleet does rewrites it.
public enum AuditTrail {
    public static func path(in reportsDirectory: String) -> String { reportsDirectory + "/audit.jsonl" }

    /// Appends `entry` as one line with a single `write` on an `O_APPEND` descriptor (two runs
    /// appending at once never interleave within a line), then fsyncs it (and the directory when
    /// the file is new).
    public static func append(_ entry: AuditEntry, in reportsDirectory: String) throws {
        try DurableFile.makePrivateDirectory(reportsDirectory)
        let path = path(in: reportsDirectory)
        let existed = FileManager.default.fileExists(atPath: path)
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FleetEngineError.file(path: path, operation: "open", errno: errno) }
        defer { close(descriptor) }
        let line = Array((JSONCoding.line(entry) + "\n").utf8)
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress!, $0.count) }
        guard written == line.count else {
            let error = written < 0 ? errno : ENOSPC
            // A partial line must not stay: cut the file back to where this line started.
            if written > 0, let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int {
                _ = ftruncate(descriptor, off_t(size - written))
            }
            throw FleetEngineError.file(path: path, operation: "append to", errno: error)
        }
        guard fsync(descriptor) == 0 else { throw FleetEngineError.file(path: path, operation: "fsync", errno: errno) }
        if !existed { DurableFile.syncDirectory(of: path) }
    }

    /// Every entry of the trail, oldest first (unreadable lines skipped).
    public static func read(in reportsDirectory: String) -> [AuditEntry] {
        guard let text = try? String(contentsOfFile: path(in: reportsDirectory), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONCoding.decoder.decode(AuditEntry.self, from: Data($0.utf8)) }
    }

    /// An entry of this moment, user and host, with `arguments` redacted.
    public static func entry(runID: String, command: String, arguments: [String], fleet: Fleet, targets: [AuditEntry.Target],
                             exitCode: Int32, interrupted: Bool = false, report: String? = nil,
                             environment: [String: String] = ProcessInfo.processInfo.environment) -> AuditEntry {
        let user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
        let result = interrupted ? "interrupted" : exitCode == 0 ? "ok" : "failed"
        return AuditEntry(time: WallClock.now(), runID: runID, user: user, sudoUser: environment["SUDO_USER"],
                          host: ProcessInfo.processInfo.hostName, command: command,
                          commandLine: redact(arguments, fleet: fleet, environment: environment), targets: targets,
                          result: result, exitCode: exitCode, report: report)
    }

    /// The command line with secrets replaced by `***`: URL and conninfo passwords, the values of
    /// the fleet's secret variables and of every variable whose name says it holds a secret (and
    /// `PGPASSWORD`), `NAME=value` where the name says so, and the value after an option that
    /// does (`--password x`, `--token=x`).
    static func redact(_ arguments: [String], fleet: Fleet, environment: [String: String]) -> [String] {
        var secrets = ExecEnvironment(secretVariables: fleet.secretVariables).secrets(password: environment["PGPASSWORD"], parent: environment)
        secrets.sort { $0.count > $1.count }
        var result: [String] = []
        var hideNext = false
        for argument in arguments {
            if hideNext {
                result.append("***")
                hideNext = false
                continue
            }
            var text = ConnectionInfo.redacting(argument)
            for secret in secrets { text = text.replacingOccurrences(of: secret, with: "***") }
            let name = { (text: Substring) in String(text.drop { $0 == "-" }).replacingOccurrences(of: "-", with: "_") }
            if let equals = text.firstIndex(of: "="), ExecEnvironment.looksSecret(name(text[..<equals])) {
                text = String(text[...equals]) + "***"
            } else if text.hasPrefix("-"), !text.contains("="), ExecEnvironment.looksSecret(name(text[...])) {
                hideNext = true
            }
            result.append(text)
        }
        return result
    }
}

/// Appends the run's line to the audit trail when the run has ended (its report saved).
public struct AuditSink: RunSink {
    let fleet: Fleet
    let arguments: [String]
    let logger: Logger

    public init(fleet: Fleet, arguments: [String], logger: Logger) {
        (self.fleet, self.arguments, self.logger) = (fleet, arguments, logger)
    }

    public func receive(_ event: RunEvent) async {
        guard case .finished(let report, let savedAt) = event else { return }
        let targets = report.outcomes.map { outcome in
            AuditEntry.Target(venue: outcome.slug, status: outcome.status.rawValue, detail: outcome.error ?? outcome.summary)
        }
        let entry = AuditTrail.entry(runID: report.runID, command: report.command, arguments: arguments, fleet: fleet, targets: targets,
                                     exitCode: report.exitCode, interrupted: report.interrupted, report: savedAt)
        do { try AuditTrail.append(entry, in: fleet.reportsDirectory) } catch {
            logger.error("audit trail not written", metadata: ["file": .string(AuditTrail.path(in: fleet.reportsDirectory)),
                                                              "error": .string("\(error)")])
        }
    }
}

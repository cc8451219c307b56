import Foundation
import Testing
import TestSupport

/// The deployment recipes' commands, run as cron, systemd and Kubernetes would run them, against a
/// sandbox fleet: every command a recipe schedules is one gwi-fleet takes, and cron's wrapper
/// mails (prints) only failures.
@Suite(.serialized) struct DeployRecipeRunTests {
    let cluster = TestCluster.shared

    /// One line of deploy/cron/gwi-fleet.
    struct CronLine {
        var fields: [String]
        var user: String
        var command: String
        /// gwi-fleet-cron's NAME: the log and lock name.
        var name: String
    }

    static func cronLines() throws -> [CronLine] {
        try String(contentsOfFile: Repository.root + "/deploy/cron/gwi-fleet", encoding: .utf8)
            .split(separator: "\n").map(String.init)
            .filter { !$0.hasPrefix("#") && !$0.contains("=") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .map { line in
                let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                let command = fields.dropFirst(6).joined(separator: " ")
                let words = fields.dropFirst(7).filter { $0 != "--always" }
                return CronLine(fields: Array(fields.prefix(5)), user: fields[5], command: command, name: words.first ?? "")
            }
    }

    /// A sandbox: the fleet, a bin directory with the built gwi-fleet and the recipe's
    /// gwi-fleet-cron, and directories standing for /var/log/gwi-fleet, /run/lock and /var/lib/gwi-fleet.
    struct Sandbox {
        let directory: FleetDirectory
        var root: String { directory.path + "/host" }
        var logs: String { root + "/log" }
        var locks: String { root + "/lock" }
        var state: String { root + "/state" }

        init(_ directory: FleetDirectory) throws {
            self.directory = directory
            let files = FileManager.default
            for sub in ["/bin", "/log", "/lock", "/state/compliance"] {
                try files.createDirectory(atPath: directory.path + "/host" + sub, withIntermediateDirectories: true)
            }
            try files.createSymbolicLink(atPath: directory.path + "/host/bin/gwi-fleet", withDestinationPath: CLI.executable)
            try files.createSymbolicLink(atPath: directory.path + "/host/bin/gwi-fleet-cron",
                                         withDestinationPath: Repository.root + "/deploy/cron/gwi-fleet-cron")
        }

        /// The recipe's paths made the sandbox's.
        func localize(_ text: String) -> String {
            text.replacingOccurrences(of: "/etc/gwi-fleet/fleet.yaml", with: directory.fleet)
                .replacingOccurrences(of: "/var/lib/gwi-fleet/reports", with: directory.path + "/reports")
                .replacingOccurrences(of: "/var/lib/gwi-fleet", with: state)
        }

        /// Runs a cron line's command as cron does: with /bin/sh, `\%` made `%`.
        func run(_ line: CronLine) async throws -> Shell.Output {
            var environment = ProcessInfo.processInfo.environment
            environment["PATH"] = root + "/bin:" + (environment["PATH"] ?? "/usr/bin:/bin")
            environment["GWI_FLEET_LOG_DIR"] = logs
            environment["GWI_FLEET_LOCK_DIR"] = locks
            let command = localize(line.command).replacingOccurrences(of: "\\%", with: "%")
            return try await Shell.captureInBackground("/bin/sh", ["-c", command], environment: environment)
        }

        func log(_ name: String) -> String { (try? String(contentsOfFile: logs + "/" + name + ".log", encoding: .utf8)) ?? "" }
    }

    @Test func theCronLinesRunAndMailOnlyFailures() async throws {
        for index in 1...2 { try await cluster.createVenue(database: "gwi_pos_cron_\(index)") }
        let sandbox = try Sandbox(FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              jobs: 2
            venues:
              - slug: cron-1
              - slug: cron-2
            """))
        let lines = try Self.cronLines()
        #expect(lines.map(\.name) == ["backup", "verify", "status", "backups-check", "sweep", "leftovers", "compliance"])
        for line in lines {
            #expect(line.user == "gwi-fleet" && line.command.hasPrefix("gwi-fleet-cron "), "\(line.command)")
        }

        // A healthy fleet: every line succeeds and prints nothing (cron mails nothing) but the
        // weekly leftovers list; each run is in its log.
        for line in lines {
            let result = try await sandbox.run(line)
            #expect(result.stderr.isEmpty, "\(line.name): \(result.stderr)")
            switch line.name {
            case "leftovers":
                #expect(result.status == 0 && result.stdout.contains("leftovers"), "\(result.stdout)")
            case "compliance":
                // One day of backups is not 30 compliant days: exit 1, mailed; the page is written either way.
                let page = sandbox.state + "/compliance/" + (try #require(
                    try FileManager.default.contentsOfDirectory(atPath: sandbox.state + "/compliance").first))
                #expect(page.hasSuffix(String(CLI.iso(Date()).prefix(10)) + ".html"), "\(page)")
                #expect(try String(contentsOfFile: page, encoding: .utf8).contains("cron-1"))
                #expect(result.stdout.isEmpty == (result.status == 0), "\(result.status): \(result.stdout)")
                if result.status != 0 { #expect(result.stdout.hasPrefix("gwi-fleet compliance failed (exit 1)"), "\(result.stdout)") }
            default:
                #expect(result.status == 0 && result.stdout.isEmpty, "\(line.name): \(result.status) \(result.stdout)")
            }
            let log = sandbox.log(line.name)
            #expect(log.contains("\(line.name) started: gwi-fleet ") && log.contains("\(line.name) ended: exit \(result.status)"), "\(log)")
        }
        #expect(sandbox.log("backup").contains("2 ok, 0 failed, 0 skipped"), "\(sandbox.log("backup"))")
        #expect(sandbox.log("status").contains("2 venues, all within policy"), "\(sandbox.log("status"))")

        // A venue gone: the backup fails, and the mail names the venue and why; the status too.
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE IF EXISTS gwi_pos_cron_2 WITH (FORCE)")
        let backup = try await sandbox.run(lines[0])
        #expect(backup.status == 1)
        #expect(backup.stdout.hasPrefix("gwi-fleet backup failed (exit 1): gwi-fleet backup --prune --quiet"), "\(backup.stdout)")
        #expect(backup.stdout.contains("cron-2: failed: ") && backup.stdout.contains("1 ok, 1 failed (cron-2)"), "\(backup.stdout)")
        #expect(backup.stdout.contains(sandbox.logs + "/backup.log"))
        #expect(!backup.stdout.contains("cron-1: "), "\(backup.stdout)")
        let status = try await sandbox.run(lines[2])
        #expect(status.status == 1)
        #expect(status.stdout.contains("1 of 2 venues break the policy: cron-2 (failed)"), "\(status.stdout)")

        // An invalid fleet file: nothing runs (exit 2) and the mail has the reason, from the log lines.
        let broken = try FleetDirectory("version: 1\nvenues:\n  - slug: Bad Slug\n")
        var invalid = lines[0]
        invalid.command = invalid.command.replacingOccurrences(of: "/etc/gwi-fleet/fleet.yaml", with: broken.fleet)
        let usage = try await sandbox.run(invalid)
        #expect(usage.status == 2)
        #expect(usage.stdout.hasPrefix("gwi-fleet backup failed (exit 2)") && usage.stdout.contains("log lines:")
                && usage.stdout.contains("Bad Slug"), "\(usage.stdout)")

        // A run still going (its lock held): the next one does not start, and says so.
        let lock = sandbox.locks + "/gwi-fleet-backup.lock"
        let descriptor = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #expect(descriptor >= 0 && flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        let held = try await sandbox.run(lines[0])
        flock(descriptor, LOCK_UN)
        close(descriptor)
        #expect(held.status == 75)
        #expect(held.stdout == "gwi-fleet backup: not started: the previous backup run still holds \(lock)\n", "\(held.stdout)")
    }

    /// Each systemd unit's and Kubernetes CronJob's command line, run against a sandbox fleet:
    /// every one is a command gwi-fleet takes and succeeds on a healthy fleet.
    @Test func theSystemdAndKubernetesCommandsRun() async throws {
        for index in 1...2 { try await cluster.createVenue(database: "gwi_pos_unit_\(index)") }
        let sandbox = try Sandbox(FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              jobs: 2
            venues:
              - slug: unit-1
              - slug: unit-2
            """))
        let units = ["backup", "verify", "status", "backups-check", "leftovers"]
        for unit in units {
            let text = try String(contentsOfFile: Repository.root + "/deploy/systemd/gwi-fleet-\(unit).service", encoding: .utf8)
            let exec = try #require(text.split(separator: "\n").first { $0.hasPrefix("ExecStart=/usr/local/bin/gwi-fleet ") })
            let arguments = sandbox.localize(String(exec.dropFirst("ExecStart=/usr/local/bin/gwi-fleet ".count))).split(separator: " ").map(String.init)
            let result = try await CLI.run(arguments)
            #expect(result.status == 0, "\(unit): \(result.stdout)\(result.stderr)")
        }

        // The CronJobs' args, in their order: the backup as 4 shards of one run, then the merge and the checks.
        let manifest = try String(contentsOfFile: Repository.root + "/deploy/kubernetes/gwi-fleet.yaml", encoding: .utf8)
        let jobs = manifest.split(separator: "\n").compactMap { line -> [String]? in
            guard let match = line.firstMatch(of: /^\s+args: \[(.*)\]$/) else { return nil }
            return sandbox.localize(String(match.output.1)).split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        #expect(jobs.map { $0.first ?? "" } == ["backup", "report", "verify", "status", "backups", "leftovers"])
        let runID = "k8s-\(UUID().uuidString.prefix(8).lowercased())"
        for index in 0..<4 {
            let shard = try await CLI.run(jobs[0], environment: ["JOB_COMPLETION_INDEX": String(index), "GWI_RUN_ID": runID])
            #expect(shard.status == 0, "\(shard.stderr)")
        }
        for job in jobs.dropFirst() {
            let result = try await CLI.run(job)
            #expect(result.status == 0, "\(job): \(result.stdout)\(result.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: sandbox.directory.path + "/reports/backup-\(runID)-merged.json"))
    }

    /// The cron recipe's logrotate file, as logrotate reads and applies it.
    @Test func theLogrotateFileParsesAndRotates() async throws {
        let logrotate = try #require(["/usr/sbin/logrotate", "/usr/bin/logrotate"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                     "logrotate is not installed: scripts/install-deps --tests")
        let directory = try FleetDirectory("version: 1\nvenues: []\n").path
        let user = try Shell.run("/usr/bin/id", ["-un"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let group = try Shell.run("/usr/bin/id", ["-gn"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let config = try String(contentsOfFile: Repository.root + "/deploy/cron/gwi-fleet.logrotate", encoding: .utf8)
            .replacingOccurrences(of: "/var/log/gwi-fleet", with: directory + "/log")
            .replacingOccurrences(of: "gwi-fleet gwi-fleet", with: "\(user) \(group)")
        try FileManager.default.createDirectory(atPath: directory + "/log", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o750])
        try config.write(toFile: directory + "/logrotate.conf", atomically: true, encoding: .utf8)
        try "=== run\n".write(toFile: directory + "/log/backup.log", atomically: true, encoding: .utf8)
        let debug = try await Shell.captureInBackground(logrotate, ["--debug", "--force", "--state", directory + "/state", directory + "/logrotate.conf"])
        #expect(debug.status == 0, "\(debug.stdout)\(debug.stderr)")
        #expect(!(debug.stdout + debug.stderr).lowercased().contains("error"), "\(debug.stdout)\(debug.stderr)")
        #expect((debug.stdout + debug.stderr).contains("rotating pattern: \(directory)/log/*.log  forced from command line (12 rotations)"), "\(debug.stderr)")
        // Applied: the log moved aside, a fresh empty one in its place.
        let real = try await Shell.captureInBackground(logrotate, ["--force", "--state", directory + "/state", directory + "/logrotate.conf"])
        #expect(real.status == 0, "\(real.stdout)\(real.stderr)")
        #expect(try String(contentsOfFile: directory + "/log/backup.log.1", encoding: .utf8) == "=== run\n")
        #expect(try String(contentsOfFile: directory + "/log/backup.log", encoding: .utf8).isEmpty)
    }
}

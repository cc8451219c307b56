import Foundation
import Testing
import TestSupport

/// A `restore --at` whose gwi-fleet is killed (SIGKILL: no clean-up runs) while its scratch
/// cluster is up: the cluster's postgres outlives it, and `leftovers --drop` stops and removes it.
@Suite(.timeLimit(.minutes(5))) struct KilledRecoveryTests {
    /// The command line of a live process; nil when there is none (a zombie has an empty one).
    static func commandLine(_ pid: pid_t) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    /// The scratch cluster under `parent` whose postmaster (named in its postmaster.pid) is alive.
    static func runningScratchCluster(in parent: String) -> (directory: String, postmaster: pid_t)? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        for name in names where name.hasPrefix("gwi-fleet-pitr-") {
            let directory = parent + "/" + name
            guard let text = try? String(contentsOfFile: directory + "/postmaster.pid", encoding: .utf8),
                  let pid = text.split(separator: "\n").first.flatMap({ pid_t($0) }),
                  commandLine(pid)?.contains(directory) == true else { continue }
            return (directory, pid)
        }
        return nil
    }

    /// `Shell.spawn`'s child, if it has exited: its status (128 + signal when killed).
    static func exitStatus(_ pid: pid_t, wait: Bool) -> Int32? {
        var status: Int32 = 0
        var reaped: pid_t
        repeat { reaped = waitpid(pid, &status, wait ? 0 : WNOHANG) } while reaped == -1 && errno == EINTR
        guard reaped == pid else { return nil }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    @Test func aScratchClusterLeftByAKilledRestoreAtIsStoppedAndRemovedByLeftoversDrop() async throws {
        // A server of its own: `leftovers --drop --older-than 0s` drops every leftover of the
        // fleet's servers, and no other test's may be among them.
        let own = try await ArchivedCluster.start(databases: ["pitr_killed"])
        defer { own.remove() }
        let target = try await own.commit(database: "pitr_killed", sql: "INSERT INTO orders VALUES (1, 'before')")
        _ = try await own.commit(database: "pitr_killed", sql: "INSERT INTO orders VALUES (2, 'after')")
        try await own.switchWALAndWaitUntilArchived()
        let sourceBefore = try await own.pgDump(database: "pitr_killed")

        // Short: the scratch cluster's socket path must fit in 107 bytes. Readable by postgres.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-kill-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        // Whatever happens below, no scratch postgres of this test outlives it.
        defer {
            for pid in ProcessTable.pids(commandContaining: [scratch]) { kill(pid, SIGKILL) }
            try? FileManager.default.removeItem(atPath: scratch)
        }
        // pg_dump that holds the dump of the recovered database (as a big venue's would) until its
        // parent, gwi-fleet, is gone: the scratch cluster is then up for as long as the test needs,
        // however fast this machine recovers. pg_restore and psql are the real ones.
        let tools = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-kill-tools-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: tools, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tools) }
        try Shell.installExecutable("""
            #!/bin/sh
            [ "$1" = "--version" ] && exec \(own.binDirectory)/pg_dump --version
            while kill -0 "$PPID" 2>/dev/null; do sleep 0.05; done
            exit 1

            """, at: tools + "/pg_dump")
        for tool in ["pg_restore", "psql"] { try FileManager.default.createSymbolicLink(atPath: tools + "/" + tool, withDestinationPath: own.binDirectory + "/" + tool) }

        let directory = try FleetDirectory("""
            version: 1
            venues:
              - slug: killed
                database: pitr_killed
                url: "host=\(own.directory) port=\(own.port) user=postgres dbname=pitr_killed"
                pitr:
                  pgbackrest:
                    stanza: \(own.stanza)
                    config: \(own.configPath)
                    scratch_dir: \(scratch)
            """)
        var environment = ProcessInfo.processInfo.environment
        environment["GWI_PG_BINDIR"] = tools
        let (output, errors) = (directory.path + "/restore.out", directory.path + "/restore.err")
        let restore = try Shell.spawn(CLI.executable, ["restore", "killed", "--at", CLI.iso(target), "--as", "pitr_killed_at",
                                                       "--fleet", directory.fleet],
                                      environment: environment, stdout: output, stderr: errors)
        var found: (directory: String, postmaster: pid_t)?
        var exitedEarly: Int32?
        let deadline = ContinuousClock.now + .seconds(180)
        while found == nil, exitedEarly == nil, ContinuousClock.now < deadline {
            found = Self.runningScratchCluster(in: scratch)
            if found == nil {
                exitedEarly = Self.exitStatus(restore, wait: false)
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        guard let cluster = found else {
            if exitedEarly == nil { kill(restore, SIGKILL); _ = Self.exitStatus(restore, wait: true) }
            let log = [output, errors].map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "" }.joined()
            Issue.record("no scratch cluster came up (gwi-fleet exited \(exitedEarly.map(String.init) ?? "no")): \(log)")
            return
        }

        #expect(kill(restore, SIGKILL) == 0)
        #expect(Self.exitStatus(restore, wait: true) == 128 + SIGKILL)
        // That is the point: nothing stopped it.
        #expect(Self.commandLine(cluster.postmaster)?.contains(cluster.directory) == true, "the scratch postgres outlives a killed gwi-fleet")

        let leftovers = try await CLI.run(["leftovers", "--drop", "--older-than", "0s", "--yes", "--fleet", directory.fleet])
        #expect(leftovers.status == 0, "\(leftovers.stdout)\(leftovers.stderr)")
        #expect(leftovers.stdout.contains(cluster.directory) && leftovers.stdout.contains("dropped: any age (--older-than 0s)"), "\(leftovers.stdout)")
        #expect(Self.commandLine(cluster.postmaster) == nil, "the scratch postgres is stopped")
        #expect(ProcessTable.pids(commandContaining: [cluster.directory]).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: cluster.directory))
        #expect(try await own.pgDump(database: "pitr_killed") == sourceBefore, "the venue's database as it was")
        #expect(try await own.psql(database: "postgres", sql: "SELECT count(*) FROM pg_database WHERE datname = 'pitr_killed_at'") == "0\n")
        // Nothing left to find.
        let again = try await CLI.run(["leftovers", "--fleet", directory.fleet])
        #expect(again.status == 0 && again.stdout.contains("no leftovers"), "\(again.stdout)\(again.stderr)")
    }

    @Test func olderThanZeroMeansAnyAgeAndBadAgesAreRefused() async throws {
        let cluster = TestCluster.shared
        try await cluster.createVenue(database: "gwi_pos_age_probe")
        // A scratch cluster's directory made this second (nothing runs in it).
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-age-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let young = scratch + "/gwi-fleet-pitr-age-probe-\(formatter.string(from: Date()))-beef"
        try FileManager.default.createDirectory(atPath: young, withIntermediateDirectories: true)
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: age-probe
                pitr:
                  pgbackrest:
                    stanza: venues
                    scratch_dir: \(scratch)
            """)
        func action(_ arguments: [String]) async throws -> String {
            let result = try await CLI.run(["leftovers"] + arguments + ["--fleet", directory.fleet])
            #expect(result.status == 0, "\(arguments): \(result.stdout)\(result.stderr)")
            return result.stdout.split(separator: "\n").first { $0.contains(young) }.map(String.init) ?? "(not listed) \(result.stdout)"
        }
        #expect(try await action([]).hasSuffix("keep: younger than 7d (a recovery may still be running)"))
        for age in ["0s", "0d", "0h0m"] {
            let line = try await action(["--older-than", age])
            #expect(line.hasSuffix("would drop with --drop --yes: any age (--older-than 0s)"), "\(age): \(line)")
        }
        for age in ["0", "soon", "1.5h", ""] {
            let result = try await CLI.run(["leftovers", "--older-than", age, "--fleet", directory.fleet])
            #expect(result.status == 2 && result.stderr.contains("--older-than: bad duration"), "\(age): \(result.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: young), "a dry run removes nothing")
    }
}

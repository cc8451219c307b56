import Foundation
import Testing
import TestSupport

/// Honest health and everyday manners: a failed last attempt, a corrupt newest backup, the
/// version, where the fleet file is found, the latest report.
@Suite struct HealthTests {
    let cluster = TestCluster.shared

    func fleet(_ slug: String) async throws -> FleetDirectory {
        try await cluster.createVenue(database: "gwi_pos_" + slug.replacingOccurrences(of: "-", with: "_"))
        return try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: \(slug)
            """)
    }

    @Test func aFailedLastAttemptAndACorruptNewestBackupAreNotHidden() async throws {
        let directory = try await fleet("health_rot")
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        // A second backup, two seconds later on gwi-fleet's clock: no waiting for a new file name.
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet], environment: ["GWI_NOW": CLI.iso(Date().addingTimeInterval(2))]).status == 0)
        let dumps = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/backups/health_rot")
            .filter { $0.hasSuffix(".dump.zst") }.sorted()
        let newest = try #require(dumps.last)
        let path = directory.path + "/backups/health_rot/" + newest
        try Data("truncated".utf8).write(to: URL(fileURLWithPath: path))

        let sweep = try await CLI.run(["sweep", "--json", "--fleet", directory.fleet])
        #expect(sweep.stdout.contains("newest backup \(newest) is corrupt"), "\(sweep.stdout)")
        let restored = try await CLI.run(["restore", "health_rot", "--as", "gwi_health_rot_copy", "--venue-table", "--fleet", directory.fleet])
        #expect(restored.status == 0 && restored.stdout.contains("skipped newer corrupt backup \(newest)"), "\(restored.stdout)")
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE gwi_health_rot_copy")

        // The next attempt fails: `backups` says so and exits 1, even with good backups on disk.
        try await cluster.psql(database: "postgres", sql: "ALTER DATABASE gwi_pos_health_rot RENAME TO gwi_pos_health_rot_away")
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 1)
        try await cluster.psql(database: "postgres", sql: "ALTER DATABASE gwi_pos_health_rot_away RENAME TO gwi_pos_health_rot")
        let listing = try await CLI.run(["backups", "--fleet", directory.fleet])
        #expect(listing.status == 1)
        #expect(listing.stdout.contains("(last attempt failed"), "\(listing.stdout)")
        #expect(listing.stdout.contains("does not exist"))
    }

    @Test func versionFleetLookupAndTheLatestReport() async throws {
        let version = try await CLI.run(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("gwi-fleet "))
        let directory = try await fleet("health_env")
        // No --fleet: $GWI_FLEET names it.
        let check = try await CLI.run(["check"], environment: ["GWI_FLEET": directory.fleet])
        #expect(check.status == 0, "\(check.stderr)")
        let sweep = try await CLI.run(["sweep", "--fleet", directory.fleet])
        #expect(sweep.status == 0)
        let latestCheck = try await CLI.run(["report", "--latest", "check", "--fleet", directory.fleet])
        #expect(latestCheck.status == 0 && latestCheck.stdout.contains("health_env") && latestCheck.stdout.contains("PostgreSQL"),
                "\(latestCheck.stdout)\(latestCheck.stderr)")
        let none = try await CLI.run(["report", "--latest", "export", "--fleet", directory.fleet])
        #expect(none.status == 1 && none.stderr.contains("no export report"))
    }
    @Test func oldReportsAndExecLogsAreDeletedAfterKeepDays() async throws {
        try await cluster.createVenue(database: "gwi_pos_health_keep")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            reports:
              keep_days: 7
            venues:
              - slug: health_keep
            """)
        let reports = directory.path + "/reports"
        try FileManager.default.createDirectory(atPath: reports + "/exec-old", withIntermediateDirectories: true)
        let old = Date().addingTimeInterval(-8 * 86_400), recent = Date().addingTimeInterval(-6 * 86_400)
        try FileManager.default.createDirectory(atPath: reports + "/exec-20200101T000000Z", withIntermediateDirectories: true)
        // A run's own log directory (time and id) with a venue's log: both go. Another tool's file
        // put in one stays, and so does its directory.
        try FileManager.default.createDirectory(atPath: reports + "/exec-20200101T000000Z-0a1b2c3d", withIntermediateDirectories: true)
        try Data("migrated\n".utf8).write(to: URL(fileURLWithPath: reports + "/exec-20200101T000000Z-0a1b2c3d/health_keep.log"))
        try FileManager.default.createDirectory(atPath: reports + "/exec-20200102T000000Z-0a1b2c3d", withIntermediateDirectories: true)
        try Data("x\n".utf8).write(to: URL(fileURLWithPath: reports + "/exec-20200102T000000Z-0a1b2c3d/health_keep.log"))
        try Data("important\n".utf8).write(to: URL(fileURLWithPath: reports + "/exec-20200102T000000Z-0a1b2c3d/other-tool.txt"))
        // A report as gwi-fleet names and writes it (a file merely holding a `run_id` is not one).
        let aReport = #"{"schema_version": 3, "run_id": "20200101T000000Z-0000abcd", "command": "check", "started_at": "2020-01-01T00:00:00.000Z", "finished_at": "2020-01-01T00:00:01.000Z", "venues": []}"#
        let oldReport = "check-20200101T000000Z-0000abcd.json"
        for (name, date) in [(oldReport, old), ("check-recent.json", recent), (".discovery.json", old), ("exec-old", old),
                             ("exec-20200101T000000Z", old), ("exec-20200101T000000Z-0a1b2c3d", old), ("exec-20200102T000000Z-0a1b2c3d", old),
                             ("notes.txt", old), ("mine.json", old)] {
            let path = reports + "/" + name
            if !FileManager.default.fileExists(atPath: path) {
                try Data((name.hasPrefix("check-") ? aReport : "{}").utf8).write(to: URL(fileURLWithPath: path))
            }
            try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path)
        }
        #expect(try await CLI.run(["check", "--fleet", directory.fleet]).status == 0)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: reports))
        #expect(!left.contains(oldReport) && !left.contains("exec-20200101T000000Z") && !left.contains("exec-20200101T000000Z-0a1b2c3d"), "\(left)")
        let kept = Set(try FileManager.default.contentsOfDirectory(atPath: reports + "/exec-20200102T000000Z-0a1b2c3d"))
        #expect(kept == ["other-tool.txt"], "\(kept)")
        // Only what gwi-fleet writes goes: not a JSON file that is no report, nor a directory it did not name.
        #expect(left.isSuperset(of: ["check-recent.json", ".discovery.json", "notes.txt", "mine.json", "exec-old"]), "\(left)")
        #expect(left.contains { $0.hasPrefix("check-") && $0 != "check-recent.json" }, "this run's report stays: \(left)")

        let bad = try FleetDirectory("""
            version: 1
            reports:
              keep_days: 0
            venues:
              - slug: health_keep
                url: \(cluster.urlTemplate)
            """)
        let rejected = try await CLI.run(["validate", "--fleet", bad.fleet])
        #expect(rejected.status == 2 && rejected.stderr.contains("reports.keep_days"), "\(rejected.stderr)")
    }
    @Test func bareBackupNamesAreLookedUpInTheVenuesDirectory() async throws {
        let directory = try await fleet("health-bare")
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/backups/health-bare")
            .first { $0.hasSuffix(".dump.zst") })
        #expect(name.hasPrefix("gwi_pos_health_bare-"))
        // From another directory, with no --venue: the name alone finds the venue and the file.
        let verified = try await CLI.run(["verify", "--backup", name, "--json", "--fleet", directory.fleet])
        #expect(verified.status == 0 && verified.stdout.contains(name) && verified.stdout.contains("health-bare"), "\(verified.stdout)\(verified.stderr)")
        let restored = try await CLI.run(["restore", "health-bare", "--backup", name, "--as", "gwi_health_bare_copy", "--fleet", directory.fleet])
        #expect(restored.status == 0, "\(restored.stderr)")
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE gwi_health_bare_copy")
        let stranger = try await CLI.run(["verify", "--backup", "gwi_pos_nobody-20260101T000000Z.dump.zst", "--fleet", directory.fleet])
        #expect(stranger.status == 2 && stranger.stderr.contains("belongs to no venue"), "\(stranger.stderr)")
        let wrongName = try await CLI.run(["restore", "health-bare", "--backup", "gwi_pos_health_bare-20200101T000000Z.dump.zst", "--as", "gwi_health_bare_no", "--fleet", directory.fleet])
        #expect(wrongName.status == 1 && wrongName.stderr.contains("is not a backup"), "\(wrongName.stderr)")
    }
    @Test func eachCommandsHelpListsOnlyItsOwnOptionsWithAnExample() async throws {
        let runOptions = ["--jobs", "--timeout", "--quiet", "--log-format", "--shard"]
        for command in ["check", "backup", "verify", "sweep", "export", "exec"] {
            let help = try await CLI.run([command, "--help"])
            #expect(help.status == 0 && help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains("Example: gwi-fleet \(command)"), "\(command): \(help.stdout)")
            for option in runOptions + ["--venue", "--fleet"] { #expect(help.stdout.contains(option), "\(command) lacks \(option)") }
        }
        for command in ["status", "backups", "leftovers", "validate", "restore"] {
            let help = try await CLI.run([command, "--help"])
            #expect(help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains("Example: gwi-fleet \(command)"), "\(command): \(help.stdout)")
            // --log-format is every command's (it shapes every line on stderr); run options are not.
            #expect(help.stdout.contains("--log-format"), "\(command) lacks --log-format")
            for option in ["--jobs", "--quiet"] where command != "restore" {
                #expect(!help.stdout.contains(option), "\(command) offers \(option), which does nothing there")
            }
        }
        let restore = try await CLI.run(["restore", "--help"])
        #expect(!restore.stdout.contains("--venue ") && !restore.stdout.contains("--shard"), "\(restore.stdout)")
        let leftovers = try await CLI.run(["leftovers", "--help"])
        #expect(!leftovers.stdout.contains("--tag"))
        let refused = try await CLI.run(["status", "--jobs", "4"])
        #expect(refused.status == 2, "an option the command does not take is a usage error: \(refused.status)")
    }
}

import Foundation
import Testing
import TestSupport

/// `restore` in the third fault drill: bytes that fail their check never reach a database, the
/// safety backup is named when a restore fails, "latest" after a migration is not restored
/// silently, and a remote's newer unfinished backups are named.
@Suite struct RestoreDrillCLITests {
    let cluster = TestCluster.shared

    func fleet(_ slug: String) throws -> FleetDirectory {
        try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: \(slug)
            """)
    }

    func venue(_ directory: FleetDirectory, _ slug: String) throws -> [String: Any] {
        (try directory.report()["venues"] as? [[String: Any]] ?? []).first { $0["slug"] as? String == slug } ?? [:]
    }

    func databaseExists(_ name: String) async throws -> Bool {
        try await cluster.psql(database: "postgres", sql: "SELECT count(*) FROM pg_database WHERE datname = '\(name)'")
            .trimmingCharacters(in: .whitespacesAndNewlines) == "1"
    }

    /// The venue's only backup (`.dump.zst`) and its manifest.
    func backup(of directory: FleetDirectory, _ slug: String) throws -> (String, String) {
        let folder = directory.path + "/backups/" + slug
        let dump = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".dump.zst") }.sorted().last)
        return (folder + "/" + dump, folder + "/" + dump.replacingOccurrences(of: ".dump.zst", with: ".manifest.json"))
    }

    @Test func anInPlaceRestoreOfBytesThatFailTheirDigestTouchesNoDatabase() async throws {
        let database = "gwi_pos_tamper"
        try await cluster.createVenue(database: database)
        let directory = try fleet("tamper")
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        let (dump, manifestPath) = try backup(of: directory, "tamper")
        // The stored bytes replaced by another valid dump (of a copy without its payments), and
        // the manifest's size and hashes of the stored file made to match: only dump_sha256 tells.
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE IF EXISTS gwi_tamper_source")
        try await cluster.psql(database: "postgres", sql: "CREATE DATABASE gwi_tamper_source TEMPLATE \(database)")
        try await cluster.psql(database: "gwi_tamper_source", sql: "DELETE FROM \"Payment\"")
        try await Shell.runInBackground("/bin/sh", ["-c", "'\(cluster.binDirectory)/pg_dump' -Fc -h '\(cluster.directory)' -p \(cluster.port) -U postgres gwi_tamper_source | zstd -q -c > '\(dump)'"])
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE gwi_tamper_source")
        let data = try Data(contentsOf: URL(fileURLWithPath: dump))
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath))) as! [String: Any]
        manifest["bytes"] = data.count
        manifest["sha256"] = String(try await Shell.runInBackground("/usr/bin/sha256sum", [dump]).prefix(64))
        if manifest["md5"] != nil { manifest["md5"] = String(try await Shell.runInBackground("/usr/bin/md5sum", [dump]).prefix(32)) }
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: manifestPath))
        let before = try await cluster.rowCounts(database: database)

        let inPlace = try await CLI.run(["restore", "tamper", "--in-place", "--yes", "--fleet", directory.fleet])
        #expect(inPlace.status == 1, "\(inPlace.stdout)\(inPlace.stderr)")
        let row = try venue(directory, "tamper")
        #expect(row["status"] as? String == "failed")
        #expect((row["error"] as? String)?.contains("dump_sha256") == true, "\(row)")
        #expect(try await cluster.rowCounts(database: database) == before)
        // The default replace and --as leave no new database behind either.
        let replace = try await CLI.run(["restore", "tamper", "--yes", "--fleet", directory.fleet])
        #expect(replace.status == 1, "\(replace.stdout)\(replace.stderr)")
        let copy = try await CLI.run(["restore", "tamper", "--as", "gwi_tamper_copy", "--fleet", directory.fleet])
        #expect(copy.status == 1, "\(copy.stdout)\(copy.stderr)")
        #expect(try await !databaseExists("gwi_tamper_copy"))
        let leftovers = try await cluster.psql(database: "postgres", sql: "SELECT count(*) FROM pg_database WHERE datname LIKE '\(database)\\_\\_%'")
        #expect(leftovers.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(try await cluster.rowCounts(database: database) == before)
    }

    @Test func aFailedInPlaceRestoreNamesItsSafetyBackupInTheReport() async throws {
        let database = "gwi_pos_safety_named"
        try await cluster.createVenue(database: database)
        let directory = try fleet("safety_named")
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        // Made after the backup: pg_restore --clean cannot drop "Payment" while this view needs it.
        try await cluster.psql(database: database, sql: "CREATE VIEW payments_seen AS SELECT * FROM \"Payment\"")
        let before = try await cluster.rowCounts(database: database)
        let result = try await CLI.run(["restore", "safety_named", "--in-place", "--yes", "--fleet", directory.fleet])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let row = try venue(directory, "safety_named")
        let safety = try #require(row["safety_backup"] as? String, "\(row)")
        #expect(FileManager.default.fileExists(atPath: safety))
        #expect((row["error"] as? String)?.contains(URL(fileURLWithPath: safety).lastPathComponent) == true, "\(row)")
        #expect(try await cluster.rowCounts(database: database) == before)
    }

    @Test func latestRightAfterAMigrationIsNotRestoredWithoutBeingAsked() async throws {
        let database = "gwi_pos_migrated"
        try await cluster.createVenue(database: database)
        let directory = try fleet("migrated")
        let migration = #"psql -X -q -v ON_ERROR_STOP=1 "$DIRECT_URL" -c 'CREATE TABLE migrated_column_holder (id int)'"#
        let exec = try await CLI.run(["exec", "--fleet", directory.fleet, "--", "sh", "-c", migration])
        #expect(exec.status == 0, "\(exec.stdout)\(exec.stderr)")
        let runID = try #require(try directory.report()["run_id"] as? String)
        let (preExec, _) = try backup(of: directory, "migrated")
        let preExecName = URL(fileURLWithPath: preExec).lastPathComponent

        // Latest is the pre-exec backup and the migration ran after it: replacing the venue with it
        // is refused, naming the run.
        let refused = try await CLI.run(["restore", "migrated", "--fleet", directory.fleet])
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        let error = try venue(directory, "migrated")["error"] as? String ?? ""
        #expect(error.contains("pre-exec backup") && error.contains(runID) && error.contains("--backup"), "\(error)")
        #expect(try await cluster.psql(database: database, sql: "SELECT count(*) FROM pg_class WHERE relname = 'migrated_column_holder'")
            .trimmingCharacters(in: .whitespacesAndNewlines) == "1")

        // Into a new database (nothing undone) it only says so; --backup names it and is not asked.
        let copied = try await CLI.run(["restore", "migrated", "--as", "gwi_migrated_copy", "--fleet", directory.fleet])
        #expect(copied.status == 0, "\(copied.stdout)\(copied.stderr)")
        let row = try venue(directory, "migrated")
        #expect(row["status"] as? String == "warning")
        #expect((row["exec_run"] as? String)?.contains(runID) == true, "\(row)")
        let named = try await CLI.run(["restore", "migrated", "--as", "gwi_migrated_named", "--backup", preExecName, "--fleet", directory.fleet])
        #expect(named.status == 0, "\(named.stdout)\(named.stderr)")
        #expect(try venue(directory, "migrated")["exec_run"] == nil)
        for copy in ["gwi_migrated_copy", "gwi_migrated_named"] {
            #expect(try await cluster.psql(database: copy, sql: "SELECT count(*) FROM pg_class WHERE relname = 'migrated_column_holder'")
                .trimmingCharacters(in: .whitespacesAndNewlines) == "0")
            try await cluster.psql(database: "postgres", sql: "DROP DATABASE \(copy)")
        }

        // Drill: `exec --no-backup` takes no pre-exec backup, so "latest" is simply older than the
        // migration; replacing the venue with it is refused all the same, naming that run.
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        let second = #"psql -X -q -v ON_ERROR_STOP=1 "$DIRECT_URL" -c 'CREATE TABLE migrated_again (id int)'"#
        #expect(try await CLI.run(["exec", "--no-backup", "--fleet", directory.fleet, "--", "sh", "-c", second]).status == 0)
        let secondRun = try #require(try directory.report()["run_id"] as? String)
        let plain = try await CLI.run(["restore", "migrated", "--in-place", "--fleet", directory.fleet])
        #expect(plain.status == 1, "\(plain.stdout)\(plain.stderr)")
        let again = try venue(directory, "migrated")["error"] as? String ?? ""
        #expect(again.contains("was taken before exec run \(secondRun)"), "\(again)")
        #expect(try await cluster.psql(database: database, sql: "SELECT count(*) FROM pg_class WHERE relname = 'migrated_again'")
            .trimmingCharacters(in: .whitespacesAndNewlines) == "1")
    }

    @Test func aRestoreFromRemoteNamesTheRemoteObjectAndTheNewerIncompleteOnesItPassedOver() async throws {
        let moto = MotoServer.shared
        let database = "gwi_pos_remote_skip"
        try await cluster.createVenue(database: database)
        let bucket = "gwi-remote-skip-\(UUID().uuidString.prefix(6).lowercased())"
        try moto.makeBucket(bucket)
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              backup:
                remote:
                  url: offsite:\(bucket)/fleet
            venues:
              - slug: remote_skip
            """)
        let environment = moto.rcloneEnvironment(remote: "offsite")
        let gwi = { (arguments: [String]) in try await CLI.run(arguments + ["--fleet", directory.fleet], environment: environment, unsetting: ["AWS_CA_BUNDLE"]) }
        #expect(try await gwi(["backup"]).status == 0)
        let older = URL(fileURLWithPath: try backup(of: directory, "remote_skip").0).lastPathComponent
        // A later second for the newer one (two backups in one second sort as one moment).
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet], environment: environment.merging(["GWI_NOW": CLI.iso(Date().addingTimeInterval(5))]) { $1 },
                                  unsetting: ["AWS_CA_BUNDLE"]).status == 0)
        let newer = URL(fileURLWithPath: try backup(of: directory, "remote_skip").0).lastPathComponent
        #expect(newer != older)
        // The newer backup's manifest never reached the remote: it is incomplete there.
        var rcloneEnvironment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        rcloneEnvironment["AWS_CA_BUNDLE"] = nil
        try await Shell.runInBackground("/usr/bin/env", ["rclone", "deletefile", "offsite:\(bucket)/fleet/remote_skip/" + newer.replacingOccurrences(of: ".dump.zst", with: ".manifest.json")],
                                        environment: rcloneEnvironment)

        let restored = try await gwi(["restore", "remote_skip", "--as", "gwi_remote_skip_back", "--from", "remote"])
        #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        let row = try venue(directory, "remote_skip")
        #expect(row["backup"] as? String == "offsite:\(bucket)/fleet/remote_skip/\(older)", "\(row)")
        let skipped = row["skipped_newer"] as? [String] ?? []
        #expect(skipped.count == 1 && skipped.first?.hasPrefix("offsite:\(bucket)/fleet/remote_skip/\(newer): incomplete") == true, "\(row)")
        #expect((row["summary"] as? String)?.contains("skipped newer incomplete off-site backup offsite:\(bucket)/fleet/remote_skip/\(newer)") == true, "\(row)")
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE gwi_remote_skip_back")

        // Drill: a named remote backup that cannot be used is named with why, not "no complete backup".
        let incomplete = try await gwi(["restore", "remote_skip", "--as", "gwi_remote_skip_x", "--from", "remote", "--backup", newer])
        #expect(incomplete.status == 1)
        let why = try venue(directory, "remote_skip")["error"] as? String ?? ""
        #expect(why.contains(newer) && why.contains("incomplete") && !why.contains("no complete backup"), "\(why)")
        let missing = try await gwi(["restore", "remote_skip", "--as", "gwi_remote_skip_x", "--from", "remote", "--backup", "nope.dump.zst"])
        #expect(missing.status == 1)
        #expect((try venue(directory, "remote_skip")["error"] as? String ?? "").contains("nope.dump.zst is not a backup on"))
    }
}

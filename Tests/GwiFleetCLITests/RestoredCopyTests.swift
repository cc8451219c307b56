import Foundation
import Testing
import TestSupport

/// Issue 21.8: a `restore --as` copy made every later check, backup and sweep exit 1 (an uncovered
/// database), and leftovers would not remove it.
@Suite struct RestoredCopyTests {
    let cluster = TestCluster.shared

    @Test func aRestoredCopyIsListedApartUntilItIsOldAndLeftoversDropsItThen() async throws {
        try await cluster.createVenue(database: "gwi_pos_copy_one")
        // Coverage ignores nothing (`gwi_pos_%` is covered): the shared cluster's other databases are
        // uncovered too; only what this test names is asserted.
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: copy-one
            ignore: ["nothing_is_ignored"]
            """)
        let copy = "gwi_pos_copy_one_copy"
        let stray = "gwi_pos_copy_one_stray"
        let backup = try await CLI.run(["backup", "--fleet", directory.fleet])  // exit 1 when other tests' databases are there
        #expect((try directory.report()["venues"] as? [[String: Any]])?.first?["status"] as? String == "ok", "\(backup.stderr)")
        let restored = try await CLI.run(["restore", "copy-one", "--as", copy, "--fleet", directory.fleet])
        #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        try await cluster.createDatabase(stray)  // made by hand: no record, never ours

        let check = try await CLI.run(["check", "--json", "--fleet", directory.fleet])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any])
        let problems = report["problems"] as? [String] ?? []
        #expect(problems.contains { $0.contains("uncovered database \(stray) ") }, "\(problems)")
        #expect(!problems.contains { $0.contains(copy) }, "a fresh restored copy is no problem: \(problems)")
        let servers = (report["fleet_totals"] as? [String: Any])?["coverage"] as? [[String: Any]] ?? []
        let copies = servers.flatMap { $0["restored_copies"] as? [[String: Any]] ?? [] }
        #expect(copies.map { $0["database"] as? String } == [copy] && copies.first?["venue"] as? String == "copy-one", "\(servers)")
        #expect(!servers.flatMap { $0["uncovered"] as? [[String: Any]] ?? [] }.contains { $0["database"] as? String == copy })
        let text = try await CLI.run(["check", "--venue-table", "--fleet", directory.fleet])
        #expect(text.stdout.contains("1 restored copies [\(copy)") && text.stdout.contains("of copy-one]"), "\(text.stdout)")

        // Young: leftovers lists it and keeps it.
        let listed = try await CLI.run(["leftovers", "--fleet", directory.fleet])
        #expect(listed.stdout.contains(copy) && listed.stdout.contains("restored copy of `copy-one`, younger than 7d"), "\(listed.stdout)")
        #expect(!listed.stdout.contains(stray), "\(listed.stdout)")

        // Eight days later (the record backdated): a problem of every run, and dropped by leftovers.
        let recordPath = directory.path + "/backups/copy-one/.created-databases.json"
        var record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: recordPath))) as? [String: Any])
        var databases = record["databases"] as? [[String: Any]] ?? []
        #expect(databases.contains { $0["database"] as? String == copy && $0["by"] as? String == "restore --as" }, "\(databases)")
        let old = ISO8601DateFormatter().string(from: Date(timeIntervalSinceNow: -8 * 86_400))
        databases = databases.map { var entry = $0; if entry["database"] as? String == copy { entry["created_at"] = old }; return entry }
        record["databases"] = databases
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: recordPath))
        let late = try await CLI.run(["check", "--fleet", directory.fleet])
        #expect(late.stderr.contains("restored copy \(copy) of venue `copy-one`") && late.stderr.contains("is 8d old"), "\(late.stderr)")
        // Kept on purpose (`ignore:` lists it, as check advises): never dropped (drill finding).
        let fleetText = try String(contentsOfFile: directory.fleet, encoding: .utf8)
        try fleetText.replacingOccurrences(of: #"ignore: ["nothing_is_ignored"]"#, with: #"ignore: ["nothing_is_ignored", "\#(copy)"]"#)
            .write(toFile: directory.fleet, atomically: true, encoding: .utf8)
        let kept = try await CLI.run(["leftovers", "--drop", "--yes", "--fleet", directory.fleet])
        #expect(kept.stdout.contains("listed in `ignore:`: never dropped"), "\(kept.stdout)")
        #expect(try await cluster.psql(database: "postgres", sql: "SELECT count(*) FROM pg_database WHERE datname = '\(copy)'").contains("1"))
        try fleetText.write(toFile: directory.fleet, atomically: true, encoding: .utf8)
        let dropped = try await CLI.run(["leftovers", "--drop", "--yes", "--fleet", directory.fleet])
        #expect(dropped.stdout.contains("dropped: restored copy of `copy-one`, older than 7d"), "\(dropped.stdout)\(dropped.stderr)")
        let left = try await cluster.psql(database: "postgres", sql: "SELECT datname FROM pg_database WHERE datname IN ('\(copy)', '\(stray)')")
        #expect(left.split(separator: "\n") == [Substring(stray)], "the copy went, the stray stays: \(left)")
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE \(stray)")
    }
}

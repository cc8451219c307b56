import Foundation
import PostgresClient
import Testing
import TestSupport

/// The third drill (issue 20) through the executable: discovery, leftovers, coverage and remote
/// listings. Numbered as in the drill's list.
@Suite struct DiscoveryDrillCLITests {
    let cluster = TestCluster.shared

    func venues(_ report: [String: Any]) -> [String: [String: Any]] {
        let list = report["venues"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: list.map { ($0["slug"] as? String ?? "", $0) })
    }

    func databases() async throws -> Set<String> {
        Set(try await cluster.psql(database: "postgres", sql: "SELECT datname FROM pg_database").split(separator: "\n").map(String.init))
    }

    /// The product's registry table, without its primary key (a row may have a NULL slug).
    func registry(_ database: String, rows: String) async throws {
        try await cluster.createDatabase(database)
        try await cluster.psql(database: database, sql: """
            CREATE TABLE "_cron_venue_registry" ("slug" TEXT, "database_name" TEXT NOT NULL, "is_active" BOOLEAN NOT NULL DEFAULT true, "tags" TEXT[]);
            INSERT INTO "_cron_venue_registry" (slug, database_name, is_active) VALUES \(rows);
            """)
    }

    // 5. One malformed registry row (`café`) stopped the whole fleet with exit 2; a NULL slug vanished.
    @Test func aBadRegistryRowIsThatRowsProblemAndTheOthersRun() async throws {
        // Drill: the same row twice (a join gone wide) is one venue; two rows of one slug naming
        // different databases are both left out, saying which.
        try await registry("gwi_master_badrow", rows: "('row-good', 'gwi_pos_row_good', true), ('café', 'gwi_pos_row_cafe', true), (NULL, 'gwi_pos_row_null', true), ('row-good', 'gwi_pos_row_good', true), ('row-two', 'gwi_pos_row_two', true), ('row-two', 'gwi_pos_row_two_b', true)")
        try await cluster.createVenue(database: "gwi_pos_row_good")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            discover:
              registry:
                url: \(cluster.url(database: "gwi_master_badrow"))
                query: SELECT slug, database_name AS database, is_active AS enabled, tags FROM "_cron_venue_registry"
            ignore: ["%"]
            """)
        let backup = try await CLI.run(["backup", "--fleet", directory.fleet])
        #expect(backup.status == 1, "\(backup.stdout)\(backup.stderr)")
        let report = try directory.report()
        #expect(venues(report).mapValues { $0["status"] as? String } == ["row-good": "ok"])
        let problems = report["problems"] as? [String] ?? []
        #expect(problems.contains { $0.hasPrefix("discovered venue `café` (registry) left out: `slug`: slug must match") }, "\(problems)")
        #expect(problems.contains("registry row 3 (database gwi_pos_row_null) left out: its slug is NULL"), "\(problems)")
        #expect(problems.contains { $0.contains("`row-two` (registry) left out") && $0.contains("different databases (gwi_pos_row_two and gwi_pos_row_two_b)") }, "\(problems)")
        #expect(!problems.contains { $0.contains("`row-good`") }, "\(problems)")
        #expect(FileManager.default.fileExists(atPath: directory.path + "/backups/row-good"))
        let validate = try await CLI.run(["validate", "--fleet", directory.fleet])
        #expect(validate.status == 1 && validate.stderr.contains("its slug is NULL"), "\(validate.stderr)")
        // On a terminal each row's problem is shown once (the drill saw a warning and a problem).
        let shown = try await TerminalOutputTests().onTerminal(["check", "--fleet", directory.fleet])
        #expect(shown.components(separatedBy: "`café`").count - 1 == 1, "\(shown)")
        let validated = try await TerminalOutputTests().onTerminal(["validate", "--fleet", directory.fleet])
        #expect(validated.components(separatedBy: "`café`").count - 1 == 1, "\(validated)")
    }

    // Issue 21.4: a registry that returned no venues exited 0 ("0 venues, all within policy"), and
    // one that lost venues said nothing.
    @Test func anEmptyOrShrunkenRegistryIsAProblemNamingTheVenuesGone() async throws {
        let rows = (1...10).map { "('shrink-\($0)', 'gwi_pos_shrink_\($0)', true)" }.joined(separator: ", ")
        try await registry("gwi_master_shrink", rows: rows)
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            discover:
              registry:
                url: \(cluster.url(database: "gwi_master_shrink"))
                query: SELECT slug, database_name AS database, is_active AS enabled, tags FROM "_cron_venue_registry"
            ignore: ["%"]
            """)
        let first = try await CLI.run(["validate", "--fleet", directory.fleet])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        try await cluster.psql(database: "gwi_master_shrink", sql: #"DELETE FROM "_cron_venue_registry" WHERE slug IN ('shrink-3', 'shrink-7')"#)
        let shrunk = try await CLI.run(["validate", "--fleet", directory.fleet])
        #expect(shrunk.status == 1, "\(shrunk.stdout)\(shrunk.stderr)")
        #expect(shrunk.stderr.contains("discovery found 8 venues, 2 of the 10 saved") && shrunk.stderr.contains("shrink-3, shrink-7"), "\(shrunk.stderr)")
        // Said once: the smaller list is the saved one now.
        #expect(try await CLI.run(["validate", "--fleet", directory.fleet]).status == 0)
        // No venue at all: the saved list is used and the run says why.
        try await cluster.psql(database: "gwi_master_shrink", sql: #"DELETE FROM "_cron_venue_registry""#)
        let empty = try await CLI.run(["validate", "--fleet", directory.fleet])
        #expect(empty.status == 1, "\(empty.stdout)\(empty.stderr)")
        #expect(empty.stderr.contains("returned no venues"), "\(empty.stderr)")
        #expect(empty.stdout.contains(": valid, 8 venues") && empty.stdout.contains("STALE"), "\(empty.stdout)")
    }

    // Issue 21.4: the shrink limit is a setting, and a saved list is its own fleet file's: a second
    // fleet sharing the reports directory whose discovery fails must not run another fleet's venues.
    @Test func theShrinkLimitIsASettingAndASavedListServesOnlyItsOwnFleet() async throws {
        let rows = (1...10).map { "('own-\($0)', 'gwi_pos_own_\($0)', true)" }.joined(separator: ", ")
        try await registry("gwi_master_own", rows: rows)
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            discover:
              max_shrink: 25%
              registry:
                url: \(cluster.url(database: "gwi_master_own"))
            ignore: ["%"]
            """)
        #expect(try await CLI.run(["validate", "--fleet", directory.fleet]).status == 0)
        try await cluster.psql(database: "gwi_master_own", sql: #"DELETE FROM "_cron_venue_registry" WHERE slug IN ('own-3', 'own-7')"#)
        let within = try await CLI.run(["validate", "--fleet", directory.fleet])
        #expect(within.status == 0 && !within.stderr.contains("are gone"), "\(within.stdout)\(within.stderr)")
        try await cluster.psql(database: "gwi_master_own", sql: #"DELETE FROM "_cron_venue_registry" WHERE slug IN ('own-1', 'own-2', 'own-4')"#)
        let beyond = try await CLI.run(["validate", "--fleet", directory.fleet])
        #expect(beyond.status == 1 && beyond.stderr.contains("3 of the 8 saved") && beyond.stderr.contains("discover.max_shrink, 25 %"),
                "\(beyond.stdout)\(beyond.stderr)")

        // Another fleet file beside it, with the same reports directory and a registry that fails.
        let other = directory.path + "/other.yaml"
        try """
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            reports:
              dir: reports
            discover:
              registry:
                url: \(cluster.url(database: "gwi_master_own"))
                query: SELECT slug, database_name AS database FROM "no_such_registry"
            ignore: ["%"]
            """.write(toFile: other, atomically: true, encoding: .utf8)
        let refused = try await CLI.run(["validate", "--fleet", other])
        #expect(refused.status == 2 && refused.stderr.contains("no earlier discovery was saved"), "\(refused.stdout)\(refused.stderr)")
        #expect(!refused.stdout.contains("own-"), "\(refused.stdout)")
        let saved = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/reports").filter { $0.hasPrefix(".discovery") }
        #expect(saved.count == 1 && saved[0].hasPrefix(".discovery-"), "\(saved)")
        // The first fleet still reads its own list (5 venues now: no shrink).
        #expect(try await CLI.run(["validate", "--fleet", directory.fleet]).status == 0)

        try String(contentsOfFile: directory.fleet, encoding: .utf8).replacingOccurrences(of: "max_shrink: 25%", with: "max_shrink: 150%")
            .write(toFile: directory.fleet, atomically: true, encoding: .utf8)
        let invalid = try await CLI.run(["validate", "--fleet", directory.fleet])
        #expect(invalid.status == 2 && invalid.stderr.contains("discover.max_shrink") && invalid.stderr.contains("from 0 to 100"), "\(invalid.stderr)")
    }

    // 2. With the registry unreachable, `leftovers --drop` used the saved list and dropped a
    // registered venue's database named like a leftover.
    @Test func leftoversDropsNothingOnAStaleListAndOnlyWhatItRecordedMaking() async throws {
        try await registry("gwi_master_lo", rows: "('lo-one', 'gwi_pos_lo_one', true)")
        try await cluster.createVenue(database: "gwi_pos_lo_one")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            discover:
              registry:
                url: \(cluster.url(database: "gwi_master_lo"))
                query: SELECT slug, database_name AS database, is_active AS enabled, tags FROM "_cron_venue_registry"
            ignore: ["%"]
            """)
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)  // saves the venue list
        // A venue registered since, whose database is named like a leftover; then the registry goes away.
        let live = "gwi_pos_lo_one__replaced_20200101T000000Z"
        try await cluster.createVenue(database: live)
        try await cluster.psql(database: "gwi_master_lo", sql: #"INSERT INTO "_cron_venue_registry" (slug, database_name) VALUES ('lo-two', '\#(live)')"#)
        try await cluster.psql(database: "gwi_master_lo", sql: #"ALTER TABLE "_cron_venue_registry" RENAME TO registry_away"#)
        let listed = try await CLI.run(["leftovers", "--older-than", "0s", "--fleet", directory.fleet])
        #expect(listed.stderr.contains("the venue list is stale"), "\(listed.stderr)")
        let refused = try await CLI.run(["leftovers", "--drop", "--yes", "--older-than", "0s", "--fleet", directory.fleet])
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("--drop refused: nothing dropped: discovery (registry) failed"), "\(refused.stderr)")
        #expect(try await databases().contains(live))

        // The registry back: a restore's replaced copy is recorded, and dropped; nothing else is.
        try await cluster.psql(database: "gwi_master_lo", sql: #"ALTER TABLE registry_away RENAME TO "_cron_venue_registry""#)
        let restored = try await CLI.run(["restore", "lo-one", "--yes", "--fleet", directory.fleet])
        #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        let before = try await databases()
        let replaced = try #require(before.first { $0.hasPrefix("gwi_pos_lo_one__replaced_") && $0 != live })
        // Named like ours, but never recorded: listed, not dropped.
        let stray = "gwi_pos_lo_stray__replaced_20200101T000000Z"
        try await cluster.createDatabase(stray)
        // Recorded, but in another venue's directory (lo-one's record vouches only for lo-one's names).
        let foreign = "gwi_pos_lo_other__replaced_20200101T000000Z"
        try await cluster.createDatabase(foreign)
        let recordPath = directory.path + "/backups/lo-one/.created-databases.json"
        var record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: recordPath))) as? [String: Any])
        record["databases"] = (record["databases"] as? [[String: Any]] ?? []) + [["database": foreign, "by": "restore", "created_at": "2020-01-01T00:00:00.000Z"]]
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: recordPath))
        let dropped = try await CLI.run(["leftovers", "--drop", "--yes", "--older-than", "0s", "--fleet", directory.fleet])
        #expect(dropped.status == 0, "\(dropped.stdout)\(dropped.stderr)")
        #expect(dropped.stdout.contains("not recorded, not dropped"), "\(dropped.stdout)")
        let after = try await databases()
        #expect(!after.contains(replaced))
        #expect(after.isSuperset(of: [live, stray, foreign, "gwi_pos_lo_one"]))
    }

    // 15. Coverage tried each of a silent server's databases for the full deadline (and retried
    // each connection): with --timeout 3s, three venues cost at least 9 s. Problems were printed
    // twice on a terminal.
    @Test func coverageOfASilentServerKeepsToTheTimeoutAndItsProblemIsShownOnce() async throws {
        let listener = try SilentListener()
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://postgres@127.0.0.1:\(listener.port)/{database}
            venues:
              - slug: quiet-one
                enabled: false
              - slug: quiet-two
                enabled: false
              - slug: quiet-three
                enabled: false
            """)
        let shown = try await TerminalOutputTests().onTerminal(["check", "--timeout", "3s", "--fleet", directory.fleet])
        let problem = "problem: coverage of 127.0.0.1:\(listener.port) not checked: timed out after 3s"
        #expect(shown.components(separatedBy: problem).count - 1 == 1, "\(shown)")
        let report = try directory.report()
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let started = try #require(iso.date(from: report["started_at"] as? String ?? ""))
        let finished = try #require(iso.date(from: report["finished_at"] as? String ?? ""))
        // The venues are disabled: the run is the coverage check, which the old code made at least 3 × 3 s.
        #expect(finished.timeIntervalSince(started) < 9, "\(finished.timeIntervalSince(started))")
        withExtendedLifetime(listener) {}
    }

    // 17. With the remote unreachable, `backups --remote` said every backup matched and
    // `compliance --remote` called every backup lost.
    @Test func anUnreadableRemoteIsNeitherMatchingNorGone() async throws {
        try await cluster.createVenue(database: "gwi_pos_drill_unread")
        let (directory, _, environment, _) = try await OffsiteTests().fleet("drill_unread")
        #expect(try await OffsiteTests().gwi(["backup"], directory, environment).status == 0)
        var closed = environment
        closed["RCLONE_CONFIG_OFFSITE_ENDPOINT"] = "http://127.0.0.1:1"
        closed["RCLONE_LOW_LEVEL_RETRIES"] = "1"
        closed["RCLONE_RETRIES"] = "1"
        let listing = try await OffsiteTests().gwi(["backups", "--remote"], directory, closed)
        #expect(listing.status == 1)
        #expect(listing.stderr.contains("drill_unread: off-site copies could not be read:"), "\(listing.stderr)")
        #expect(!listing.stderr.contains("every backup matches"), "\(listing.stderr)")
        let audit = try await OffsiteTests().gwi(["compliance", "--since", "1d", "--remote", "--json"], directory, closed)
        #expect(audit.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any])
        let venue = try #require((object["venues"] as? [[String: Any]])?.first)
        let reasons = (venue["reasons"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        #expect(reasons.count == 1 && reasons.first?.hasPrefix("off-site copies could not be read: ") == true, "\(reasons)")
        let backups = venue["backups"] as? [[String: Any]] ?? []
        #expect(!backups.contains { $0["state"] as? String == "lost" }, "\(backups)")
    }
}

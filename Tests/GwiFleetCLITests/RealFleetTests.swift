import Foundation
import PostgresClient
import Testing
import TestSupport

/// The product's real naming and registry: hyphenated slugs, discovery, coverage, leftovers, master.
@Suite struct RealFleetTests {
    let cluster = TestCluster.shared

    func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    func venues(_ report: [String: Any]) -> [String: [String: Any]] {
        let list = report["venues"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: list.map { ($0["slug"] as? String ?? "", $0) })
    }

    /// A master database holding the product's registry table with these rows.
    func registry(_ database: String, rows: [(slug: String, database: String, active: Bool, tags: String?)]) async throws {
        try await cluster.createDatabase(database)
        let values = rows.map { row in
            "('\(row.slug)', '\(row.database)', \(row.active), \(row.tags.map { "'\($0)'" } ?? "NULL"))"
        }.joined(separator: ", ")
        try await cluster.psql(database: database, sql: """
            CREATE TABLE "_cron_venue_registry" (
              "slug" TEXT PRIMARY KEY, "database_name" TEXT NOT NULL, "is_active" BOOLEAN NOT NULL DEFAULT true,
              "nuc_base_url" TEXT, "tags" TEXT[], "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
              "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now());
            """ + (rows.isEmpty ? "" : #"INSERT INTO "_cron_venue_registry" (slug, database_name, is_active, tags) VALUES "# + values))
    }

    @Test func hyphenatedSlugsWorkEndToEnd() async throws {
        try await cluster.createVenue(database: "gwi_pos_joes_bar")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: joes-bar
              - slug: other-place
                enabled: false
            """)
        let validate = try json(try await CLI.run(["validate", "--json", "--fleet", directory.fleet]).stdout)
        let listed = validate["venues"] as? [[String: Any]] ?? []
        #expect(listed.first?["database"] as? String == "gwi_pos_joes_bar")
        #expect(listed.first?["origin"] as? String == "fleet file line 5")
        #expect(try await CLI.run(["backup", "--venue", "joes-bar", "--fleet", directory.fleet]).status == 0)
        #expect(FileManager.default.fileExists(atPath: directory.path + "/backups/joes-bar"))
        #expect(try await CLI.run(["verify", "--venue", "joes-bar", "--fleet", directory.fleet]).status == 0)
        let restored = try await CLI.run(["restore", "joes-bar", "--as", "gwi_pos_joes_bar_copy", "--fleet", directory.fleet])
        #expect(restored.status == 0, "\(restored.stdout)")
        #expect(try await cluster.rowCounts(database: "gwi_pos_joes_bar_copy") == (try await cluster.rowCounts(database: "gwi_pos_joes_bar")))
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE gwi_pos_joes_bar_copy")
        let exec = try await CLI.run(["exec", "--no-backup", "--venue", "joes-bar", "--fleet", directory.fleet, "--",
                                      "sh", "-c", #"test "$GWI_VENUE_SLUG" = joes-bar && test "$GWI_VENUE_DATABASE" = gwi_pos_joes_bar"#])
        #expect(exec.status == 0, "\(exec.stdout)")
    }

    @Test func twoVenuesOnTheSameDatabaseAreRejectedNamingBoth() async throws {
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: joes-bar
              - slug: joes_bar
            """)
        let result = try await CLI.run(["validate", "--fleet", directory.fleet])
        #expect(result.status == 2)
        #expect(result.stderr.contains("venues `joes-bar` and `joes_bar` are both database gwi_pos_joes_bar"), "\(result.stderr)")
    }

    @Test func registryDiscoveryWithAnOverrideAndADisabledVenue() async throws {
        try await registry("gwi_master_reg", rows: [("reg-alpha", "gwi_pos_reg_alpha", true, nil),
                                                     ("reg-beta", "gwi_pos_reg_beta", false, nil),
                                                     ("reg-gamma", "gwi_pos_reg_gamma", true, "{west,24h}")])
        try await cluster.createVenue(database: "gwi_pos_reg_alpha")
        try await cluster.createVenue(database: "gwi_pos_reg_gamma")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            discover:
              registry:
                url: \(cluster.url(database: "gwi_master_reg"))
                query: SELECT slug, database_name AS database, is_active AS enabled, tags FROM "_cron_venue_registry"
            venues:
              - slug: reg-alpha
                tags: [vip]
            """)
        let validate = try json(try await CLI.run(["validate", "--json", "--fleet", directory.fleet]).stdout)
        let listed = Dictionary(uniqueKeysWithValues: (validate["venues"] as? [[String: Any]] ?? []).map { ($0["slug"] as? String ?? "", $0) })
        #expect(listed["reg-alpha"]?["origin"] as? String == "registry, overridden at line 9")
        #expect(listed["reg-alpha"]?["tags"] as? [String] == ["vip", "discovered"])
        #expect(listed["reg-beta"]?["enabled"] as? Bool == false)
        #expect(listed["reg-gamma"]?["tags"] as? [String] == ["west", "24h", "discovered"])
        #expect((validate["discovery"] as? [String: Any])?["status"] as? String == "fresh")
        let backup = try await CLI.run(["backup", "--fleet", directory.fleet])
        #expect(backup.status == 0, "\(backup.stdout)")
        let report = try directory.report()
        #expect(venues(report).mapValues { $0["status"] as? String } == ["reg-alpha": "ok", "reg-beta": "skipped", "reg-gamma": "ok"])
        #expect((report["discovery"] as? [String: Any])?["source"] as? String == "registry")
    }

    @Test func serverDatabasesAreDiscoveredByPatternWithExcludes() async throws {
        for name in ["gwi_pos_srvd_one", "gwi_pos_srvd_two", "gwi_pos_srvd_two__replaced_20260101T000000Z"] {
            try await cluster.createDatabase(name)
        }
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            discover:
              databases:
                url: \(cluster.url(database: "postgres"))
                include: ["gwi\\\\_pos\\\\_srvd\\\\_%"]
                exclude: ["%\\\\_\\\\_replaced\\\\_%"]
            """)
        let validate = try json(try await CLI.run(["validate", "--json", "--fleet", directory.fleet]).stdout)
        let listed = (validate["venues"] as? [[String: Any]] ?? []).map { "\($0["slug"] ?? "")=\($0["database"] ?? "")" }
        #expect(listed == ["srvd-one=gwi_pos_srvd_one", "srvd-two=gwi_pos_srvd_two"])
    }

    @Test func aFailedDiscoveryUsesTheSavedListAndFailsTheRunOrStopsWhenThereIsNone() async throws {
        try await registry("gwi_master_stale", rows: [("stale-one", "gwi_pos_stale_one", true, nil)])
        try await cluster.createVenue(database: "gwi_pos_stale_one")
        let yaml = """
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            discover:
              registry:
                url: \(cluster.url(database: "gwi_master_stale"))
            """
        let directory = try FleetDirectory(yaml)
        #expect(try await CLI.run(["check", "--fleet", directory.fleet]).status == 0)
        try await cluster.psql(database: "gwi_master_stale", sql: #"ALTER TABLE "_cron_venue_registry" RENAME TO registry_gone"#)
        let stale = try await CLI.run(["backup", "--fleet", directory.fleet])
        #expect(stale.status == 1, "\(stale.stdout)")
        #expect(stale.stderr.contains("discovery failed"), "\(stale.stderr)")
        let report = try directory.report()
        #expect(venues(report)["stale-one"]?["status"] as? String == "ok")
        #expect((report["discovery"] as? [String: Any])?["status"] as? String == "stale")
        #expect((report["problems"] as? [String] ?? []).contains { $0.hasPrefix("discovery failed") })

        // A new machine (no saved list) stops before touching anything.
        let fresh = try FleetDirectory(yaml)
        let stopped = try await CLI.run(["backup", "--fleet", fresh.fleet])
        #expect(stopped.status == 2)
        #expect(stopped.stderr.contains("no earlier discovery was saved, so no venue was touched"), "\(stopped.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fresh.path + "/backups"))
    }

    @Test func theMasterDatabaseIsLeftOutOfExecAndExportUnlessNamed() async throws {
        try await registry("gwi_master_kind", rows: [])
        try await cluster.createVenue(database: "gwi_pos_kind_venue")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: master
                database: gwi_master_kind
                kind: master
              - slug: kind-venue
            """)
        #expect(try await CLI.run(["exec", "--no-backup", "--fleet", directory.fleet, "--", "true"]).status == 0)
        var byVenue = venues(try directory.report())
        #expect(byVenue["master"]?["status"] as? String == "skipped")
        #expect(byVenue["master"]?["error"] as? String == "master database: exec leaves it out unless named with --venue")
        #expect(byVenue["kind-venue"]?["status"] as? String == "warning")  // --no-backup is a warning
        let export = try await CLI.run(["export", "--table", "Order", "--out", directory.path + "/csv", "--fleet", directory.fleet])
        #expect(export.status == 0, "\(export.stdout)")
        byVenue = venues(try directory.report())
        #expect(byVenue["master"]?["status"] as? String == "skipped")
        #expect(FileManager.default.fileExists(atPath: directory.path + "/csv/kind-venue/Order.csv"))
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/csv/master"))
        #expect(try await CLI.run(["exec", "--no-backup", "--venue", "master", "--fleet", directory.fleet, "--", "true"]).status == 0)
        #expect(venues(try directory.report())["master"]?["status"] as? String == "warning")
        // Backups include it.
        #expect(try await CLI.run(["backup", "--venue", "master", "--fleet", directory.fleet]).status == 0)
    }
}

/// Coverage and leftovers look at every database on a server: a cluster of their own.
@Suite struct CoverageTests {
    let cluster = TestCluster.isolated

    func coverage(_ report: [String: Any]) -> [String: Any] {
        ((report["fleet_totals"] as? [String: Any])?["coverage"] as? [[String: Any]])?.first ?? [:]
    }

    @Test func uncoveredDatabasesFailTheRunUntilIgnoredAndLeftoversAreDroppedOnlyWhenAsked() async throws {
        try await cluster.createVenue(database: "gwi_pos_cov_a")
        try await cluster.createVenue(database: "gwi_pos_cov_stray")
        try await cluster.createDatabase("gwi_pos_cov_a__replaced_20260101T000000Z")
        let young = "gwi_verify_cov_a_" + Self.stampNow() + "_beef"
        try await cluster.createDatabase(young)
        let yaml = """
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: cov-a
            """
        let directory = try FleetDirectory(yaml + "\nignore: []\n")
        let check = try await CLI.run(["check", "--fleet", directory.fleet])
        #expect(check.status == 1, "\(check.stdout)")
        #expect(check.stdout.contains("coverage of 127.0.0.1:\(cluster.port): 1 uncovered [gwi_pos_cov_stray ("), "\(check.stdout)")
        let found = coverage(try directory.report())
        let uncovered = found["uncovered"] as? [[String: Any]] ?? []
        #expect(uncovered.map { $0["database"] as? String } == ["gwi_pos_cov_stray"])
        #expect((uncovered.first?["bytes"] as? Int ?? 0) > 1_000_000)
        let leftovers = found["leftovers"] as? [[String: Any]] ?? []
        #expect(Set(leftovers.compactMap { $0["database"] as? String }) == ["gwi_pos_cov_a__replaced_20260101T000000Z", young])
        #expect(leftovers.first { $0["kind"] as? String == "replaced" }?["age_seconds"] as? Int ?? 0 > 86_400)
        #expect((try directory.report()["problems"] as? [String] ?? []).first?.hasPrefix("uncovered database gwi_pos_cov_stray") == true)

        let ignoring = try FleetDirectory(yaml + "\nignore: [gwi_pos_cov_stray]\n")
        #expect(try await CLI.run(["check", "--fleet", ignoring.fleet]).status == 0)

        // Leftovers: a dry run by default, and even with --drop until --yes.
        let list = try await CLI.run(["leftovers", "--fleet", ignoring.fleet])
        #expect(list.status == 0 && list.stdout.contains("(dry run)"), "\(list.stdout)")
        _ = try await CLI.run(["leftovers", "--drop", "--older-than", "1d", "--fleet", ignoring.fleet])
        #expect(try await databases().contains("gwi_pos_cov_a__replaced_20260101T000000Z"))
        // Made by hand, not by gwi-fleet: named like ours, but never recorded, so never dropped.
        let dropped = try await CLI.run(["leftovers", "--drop", "--older-than", "1d", "--yes", "--fleet", ignoring.fleet])
        #expect(dropped.status == 0, "\(dropped.stdout)\(dropped.stderr)")
        #expect(dropped.stdout.contains("not recorded, not dropped"), "\(dropped.stdout)")
        let remaining = try await databases()
        #expect(remaining.isSuperset(of: ["gwi_pos_cov_a__replaced_20260101T000000Z", young, "gwi_pos_cov_a", "gwi_pos_cov_stray"]))
    }

    func databases() async throws -> Set<String> {
        Set(try await cluster.psql(database: "postgres", sql: "SELECT datname FROM pg_database").split(separator: "\n").map(String.init))
    }

    static func stampNow() -> String {
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss"
        return formatter.string(from: Date())
    }
}

import Foundation
import Testing
import TestSupport

@Suite struct ExecTests {
    let cluster = TestCluster.shared

    func fleet(_ slugs: [String], extra: String = "") throws -> FleetDirectory {
        try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            \(extra)
            venues:
            \(slugs.map { "  - slug: \($0)" }.joined(separator: "\n"))
            """)
    }

    func columns(_ database: String, _ table: String) async throws -> String {
        try await cluster.psql(database: database, sql: "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = '\(table)'")
    }

    @Test func aFailedMigrationIsRolledBackToExactlyTheSchemaAndRowsBefore() async throws {
        for slug in ["mig_a", "mig_b", "mig_c"] { try await cluster.createVenue(database: "gwi_pos_\(slug)") }
        let directory = try fleet(["mig_a", "mig_b", "mig_c"])
        let beforeColumns = try await columns("gwi_pos_mig_b", "Order")
        let beforeRows = try await cluster.rowCounts(database: "gwi_pos_mig_b")
        // The migration alters the table on every venue, deletes rows, and fails on mig_b only.
        let script = """
            psql -X -q -v ON_ERROR_STOP=1 "$DIRECT_URL" -c 'ALTER TABLE "Order" ADD COLUMN loyalty_points int' \
              -c 'DELETE FROM "Payment" WHERE id % 2 = 0' && \
            if [ "$GWI_VENUE_SLUG" = mig_b ]; then echo "migration failed on $GWI_VENUE_DATABASE" >&2; exit 4; fi
            """
        let result = try await CLI.run(["exec", "--rollback", "--fleet", directory.fleet, "--", "sh", "-c", script])
        #expect(result.status == 1)
        #expect(try await columns("gwi_pos_mig_b", "Order") == beforeColumns)
        #expect(try await cluster.rowCounts(database: "gwi_pos_mig_b") == beforeRows)
        #expect(try await columns("gwi_pos_mig_a", "Order").hasSuffix(",loyalty_points\n"))
        #expect(try await columns("gwi_pos_mig_c", "Order").hasSuffix(",loyalty_points\n"))

        let venues = try #require(try directory.report()["venues"] as? [[String: Any]])
        #expect(venues.map { $0["status"] as? String } == ["ok", "failed", "ok"])
        let failed = venues[1]
        #expect(failed["exit_code"] as? Int == 4)
        #expect(failed["rolled_back"] as? Bool == true)
        #expect((failed["error"] as? String)?.contains("sh exited with status 4") == true)
        let log = try String(contentsOfFile: try #require(failed["log"] as? String), encoding: .utf8)
        #expect(log.contains("migration failed on gwi_pos_mig_b"))
        #expect((venues[0]["backup"] as? String)?.hasSuffix(".dump.zst") == true)
    }

    @Test func aFailingCanaryStopsTheRollout() async throws {
        for slug in ["can_a", "can_b", "can_c"] { try await cluster.createVenue(database: "gwi_pos_\(slug)") }
        let directory = try fleet(["can_a", "can_b", "can_c"])
        let result = try await CLI.run(["exec", "--no-backup", "--canary", "1", "--fleet", directory.fleet, "--", "false"])
        #expect(result.status == 1)
        let venues = try #require(try directory.report()["venues"] as? [[String: Any]])
        #expect(venues.map { $0["status"] as? String } == ["failed", "skipped", "skipped"])
        #expect(venues[1]["error"] as? String == "not started: the canary failed")

        let healthy = try await CLI.run(["exec", "--no-backup", "--canary", "1", "--fleet", directory.fleet, "--", "true"])
        #expect(healthy.status == 0)
        let after = try #require(try directory.report()["venues"] as? [[String: Any]])
        #expect(after.map { $0["status"] as? String } == ["warning", "warning", "warning"])
        #expect((after[0]["warnings"] as? [String])?.first?.contains("--no-backup") == true)
    }

    @Test func maxFailuresStopsStartingVenues() async throws {
        for slug in ["mf_a", "mf_b", "mf_c", "mf_d"] { try await cluster.createVenue(database: "gwi_pos_\(slug)") }
        let directory = try fleet(["mf_a", "mf_b", "mf_c", "mf_d"])
        let script = #"[ "$GWI_VENUE_SLUG" = mf_a ] || [ "$GWI_VENUE_SLUG" = mf_b ] && exit 1; exit 0"#
        let result = try await CLI.run(["exec", "--no-backup", "--max-failures", "2", "--fleet", directory.fleet, "--", "sh", "-c", script])
        #expect(result.status == 1)
        let venues = try #require(try directory.report()["venues"] as? [[String: Any]])
        #expect(venues.map { $0["status"] as? String } == ["failed", "failed", "skipped", "skipped"])
        #expect(venues[2]["error"] as? String == "not started: 2 venues failed (--max-failures 2)")
    }

    @Test func aHungCommandIsKilledAtTheVenueTimeout() async throws {
        try await cluster.createVenue(database: "gwi_pos_hang")
        let directory = try fleet(["hang"])
        let marker = "hang-\(UUID().uuidString.prefix(8))"
        let started = Date()
        let result = try await CLI.run(["exec", "--no-backup", "--timeout", "2s", "--fleet", directory.fleet, "--",
                                  "sh", "-c", "sleep 120 # \(marker)"])
        #expect(result.status == 1)
        #expect(Date().timeIntervalSince(started) < 60)
        let venue = (try directory.report()["venues"] as? [[String: Any]])?.first
        #expect((venue?["error"] as? String)?.hasPrefix("timed out after 2s") == true)
        #expect(ProcessTable.pids(commandContaining: [marker]).isEmpty)
    }

    @Test func aHungMigrationIsKilledAndRolledBack() async throws {
        try await cluster.createVenue(database: "gwi_pos_hang_rb")
        let directory = try fleet(["hang_rb"])
        let before = try await cluster.rowCounts(database: "gwi_pos_hang_rb")
        let result = try await CLI.run(["exec", "--rollback", "--timeout", "8s", "--fleet", directory.fleet, "--", "sh", "-c",
                                  #"psql -X -q "$DIRECT_URL" -c 'DELETE FROM "Audit Log"' && sleep 120"#])
        #expect(result.status == 1)
        let venue = (try directory.report()["venues"] as? [[String: Any]])?.first
        let error = venue?["error"] as? String ?? ""
        #expect(error.hasPrefix("timed out after 8s"), "\(error)")
        #expect(error.contains("sh was stopped; rolled back from"), "\(error)")
        #expect(venue?["rolled_back"] as? Bool == true)
        #expect(try await cluster.rowCounts(database: "gwi_pos_hang_rb") == before)
    }

    @Test func theCommandGetsTheVenueURLsWithThePasswordOnlyInItsEnvironment() async throws {
        try await cluster.createVenue(database: "gwi_pos_envpw")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://\(cluster.passwordRole)@127.0.0.1:\(cluster.port)/{database}
              password_env: GWI_TEST_EXEC_PASSWORD
            venues:
              - slug: envpw
            """)
        let seen = directory.path + "/seen.txt"
        let result = try await CLI.run(["exec", "--fleet", directory.fleet, "--", "sh", "-c",
                                  "psql \"$DATABASE_URL\" -Atc 'SELECT current_user' > \(seen) && echo \"$GWI_VENUE_SLUG $GWI_VENUE_DATABASE\" >> \(seen)"],
                                 environment: ["GWI_TEST_EXEC_PASSWORD": cluster.password])
        #expect(result.status == 0)
        #expect(try String(contentsOfFile: seen, encoding: .utf8) == "\(cluster.passwordRole)\nenvpw gwi_pos_envpw\n")
        let report = try String(contentsOfFile: try #require(directory.reports.last), encoding: .utf8)
        #expect(!report.contains(cluster.password) && !result.stdout.contains(cluster.password) && !result.stderr.contains(cluster.password))
    }

    // Drill: two exec runs of one venue in the same second wrote one log file, the second over the first.
    @Test func twoExecRunsInTheSameSecondKeepBothLogs() async throws {
        try await cluster.createVenue(database: "gwi_pos_samesecond")
        let directory = try fleet(["samesecond"])
        let clock = ["GWI_NOW": CLI.iso(Date())]
        var logs: [String] = []
        for word in ["FIRST", "SECOND"] {
            #expect(try await CLI.run(["exec", "--no-backup", "--fleet", directory.fleet, "--", "echo", word], environment: clock).status == 0)
            let venue = (try directory.report()["venues"] as? [[String: Any]])?.first ?? [:]
            logs.append(try #require(venue["log"] as? String))
        }
        #expect(logs[0] != logs[1])
        #expect(try String(contentsOfFile: logs[0], encoding: .utf8) == "FIRST\n")
        #expect(try String(contentsOfFile: logs[1], encoding: .utf8) == "SECOND\n")
    }

    // Issue 20.12: the command inherited the age identity, the S3 secret and the password
    // variable, and what it printed landed in its log.
    @Test func theCommandGetsNoneOfGwiFleetsSecretsAndItsLogKeepsNone() async throws {
        try await cluster.createVenue(database: "gwi_pos_envsecret")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://\(cluster.passwordRole)@127.0.0.1:\(cluster.port)/{database}
              password_env: GWI_TEST_EXEC_SECRET_PASSWORD
              backup:
                encrypt:
                  recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]
                  identity_env: GWI_TEST_EXEC_AGE_IDENTITY
            venues:
              - slug: envsecret
            """)
        let identity = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
        let s3Secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
        let environment = ["GWI_TEST_EXEC_SECRET_PASSWORD": cluster.password, "GWI_TEST_EXEC_AGE_IDENTITY": identity,
                           "AWS_SECRET_ACCESS_KEY": s3Secret, "GWI_TEST_NOT_PASSED": "not-passed-value", "GWI_TEST_PASSED_ONE": "passed-value"]
        // The command prints its whole environment, the password and the S3 key it was handed.
        let script = "env; echo \"password: $PGPASSWORD url: $DIRECT_URL\"; echo \"s3: $AWS_SECRET_ACCESS_KEY\"; echo done"
        let result = try await CLI.run(["exec", "--no-backup", "--pass-env", "GWI_TEST_PASSED_*", "--pass-env", "AWS_SECRET_ACCESS_KEY",
                                        "--fleet", directory.fleet, "--", "sh", "-c", script], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let venue = (try directory.report()["venues"] as? [[String: Any]])?.first ?? [:]
        let log = try String(contentsOfFile: try #require(venue["log"] as? String), encoding: .utf8)
        // What it needs is there; what it was not given is not.
        #expect(log.contains("GWI_VENUE_SLUG=envsecret") && log.contains("GWI_TEST_PASSED_ONE=passed-value") && log.contains("PATH="), "\(log)")
        #expect(!log.contains("GWI_TEST_NOT_PASSED") && !log.contains("GWI_TEST_EXEC_AGE_IDENTITY") && !log.contains("GWI_TEST_EXEC_SECRET_PASSWORD"), "\(log)")
        // What it was given and printed is redacted.
        for secret in [identity, s3Secret, cluster.password] { #expect(!log.contains(secret), "\(log)") }
        #expect(log.contains("password: ***") && log.contains("s3: ***") && log.hasSuffix("done\n"), "\(log)")
        // A variable the fleet file names as a secret cannot be passed.
        let refused = try await CLI.run(["exec", "--no-backup", "--pass-env", "GWI_TEST_EXEC_AGE_IDENTITY", "--fleet", directory.fleet, "--", "true"],
                                        environment: environment)
        #expect(refused.status == 2 && refused.stderr.contains("names it as a secret"), "\(refused.status) \(refused.stderr)")
    }
}

@Suite struct ExportTests {
    let cluster = TestCluster.shared

    func psqlCopy(_ database: String, _ what: String) async throws -> Data {
        Data(try await Shell.runInBackground(cluster.binDirectory + "/psql", ["-X", "-h", cluster.directory, "-p", String(cluster.port), "-U", "postgres",
                                                           "-d", database, "-c", "\\copy \(what) TO STDOUT WITH CSV HEADER"]).utf8)
    }

    @Test func perVenueFilesAreByteIdenticalToPsqlCopyWithHostileValues() async throws {
        for slug in ["ex_a", "ex_b"] {
            try await cluster.createVenue(database: "gwi_pos_\(slug)")
            try await cluster.psql(database: "gwi_pos_\(slug)", sql: #"""
                CREATE TABLE "Odd Values" (id int, "what's" text, note text);
                INSERT INTO "Odd Values" VALUES (1, 'comma, here', 'say "hi"'), (2, E'line\nbreak', 'ünïcødé ☕'), (3, NULL, ''),
                  (4, E'back\\slash', E'tab\there');
                """#)
        }
        let directory = try FleetDirectory("version: 1\ndefaults:\n  url: \(cluster.urlTemplate)\nvenues:\n  - slug: ex_a\n  - slug: ex_b\n")
        let out = directory.path + "/out"
        let result = try await CLI.run(["export", "--table", "Odd Values", "--out", out, "--fleet", directory.fleet])
        #expect(result.status == 0)
        for slug in ["ex_a", "ex_b"] {
            let mine = try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(slug)/Odd Values.csv"))
            #expect(mine == (try await psqlCopy("gwi_pos_\(slug)", #""Odd Values""#)))
        }
        // A filtered, column-limited export matches psql on the same query.
        let filtered = try await CLI.run(["export", "--table", "Odd Values", "--columns", "id,what's", "--where", "id > 1",
                                    "--out", out + "2", "--fleet", directory.fleet])
        #expect(filtered.status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(out)2/ex_a/Odd Values.csv"))
                == (try await psqlCopy("gwi_pos_ex_a", #"(SELECT id, "what's" FROM "Odd Values" WHERE id > 1)"#)))
    }

    @Test func combinedFileHasOneHeaderAndEveryVenuesRowsAndAFailedVenueLeavesNothing() async throws {
        try await cluster.createVenue(database: "gwi_pos_comb_a")
        try await cluster.createVenue(database: "gwi_pos_comb_b", scale: 2)
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: comb_a
              - slug: comb_missing
              - slug: comb_b
            """)
        let file = directory.path + "/orders.csv"
        let result = try await CLI.run(["export", "--query", #"SELECT id, status FROM "Order" ORDER BY id"#, "--combined", file,
                                  "--fleet", directory.fleet])
        #expect(result.status == 1)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "venue,id,status")
        #expect(lines.filter { $0 == "venue,id,status" }.count == 1)
        #expect(lines.filter { $0.hasPrefix("comb_a,") }.count == 1000)
        #expect(lines.filter { $0.hasPrefix("comb_b,") }.count == 2000)
        #expect(lines.count == 1 + 3000 + 1)  // the final newline
        // No parts or temporary files are left beside it.
        #expect(directory.allFiles.filter { !$0.hasPrefix("reports") } == ["fleet.yaml", "orders.csv"])

        let gz = try await CLI.run(["export", "--query", #"SELECT id FROM "Order" ORDER BY id"#, "--combined", directory.path + "/ids.csv", "--gzip",
                              "--venue", "comb_a", "--fleet", directory.fleet])
        #expect(gz.status == 0)
        let unzipped = try await Shell.runInBackground("/bin/gzip", ["-dc", directory.path + "/ids.csv.gz"])
        #expect(unzipped.hasPrefix("venue,id\ncomb_a,1\n"))
        #expect(unzipped.split(separator: "\n").count == 1001)
    }

    @Test func aMillionRowTableStreamsToAFileIdenticalToPsql() async throws {
        try await cluster.createDatabase("gwi_pos_million")
        try await cluster.psql(database: "gwi_pos_million", sql: "CREATE TABLE big AS SELECT i, md5(i::text) AS h, i * 0.5 AS half FROM generate_series(1, 1000000) i")
        let directory = try FleetDirectory("version: 1\ndefaults:\n  url: \(cluster.urlTemplate)\nvenues:\n  - slug: million\n")
        let result = try await CLI.run(["export", "--table", "big", "--out", directory.path + "/out", "--fleet", directory.fleet])
        #expect(result.status == 0)
        let mine = try Data(contentsOf: URL(fileURLWithPath: directory.path + "/out/million/big.csv"))
        #expect(mine.count > 40_000_000)
        #expect(mine == (try await psqlCopy("gwi_pos_million", "big")))
    }
}

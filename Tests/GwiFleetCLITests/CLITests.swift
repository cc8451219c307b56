import Foundation
import PostgresClient
import Testing
import TestSupport

@Suite struct CLITests {
    let cluster = TestCluster.shared

    @Test func invalidFleetFileExitsTwoListingEveryProblemAndTouchesNothing() async throws {
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://postgres@127.0.0.1:1/{database}
              timout: 5m
            venues:
              - slug: Downtown
              - slug: airport
                backup:
                  format: zip
            """)
        let result = try await CLI.run(["backup", "--fleet", directory.fleet])
        #expect(result.status == 2)
        #expect(result.stderr.contains("3 problems; no venue was touched"))
        #expect(result.stderr.contains("line 4, key `defaults.timout`: unknown key (did you mean `timeout`?)"))
        #expect(result.stderr.contains("line 6, venue `Downtown`, key `slug`"))
        #expect(result.stderr.contains("line 9, venue `airport`, key `backup.format`: bad format `zip`"))
        #expect(directory.allFiles == ["fleet.yaml"])
    }

    @Test func aConnectionStringLibpqRejectsIsAFleetFileErrorWithoutThePassword() async throws {
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://ops:s3cr%zzet@127.0.0.1:1/{database}
            venues:
              - slug: downtown
              - slug: harbor
                url: host=127.0.0.1 nonsense_option=1 dbname={database}
            """)
        let result = try await CLI.run(["backup", "--fleet", directory.fleet])
        #expect(result.status == 2)
        #expect(result.stderr.contains("2 problems; no venue was touched"))
        #expect(result.stderr.contains("line 5, venue `downtown`, key `url`: invalid connection string"))
        #expect(result.stderr.contains("line 6, venue `harbor`, key `url`: invalid connection string"))
        #expect(result.stderr.contains("nonsense_option"))
        #expect(!result.stderr.contains("s3cr") && !result.stdout.contains("s3cr"))
        #expect(directory.allFiles == ["fleet.yaml"])
    }

    @Test func usageErrorsExitTwo() async throws {
        let directory = try FleetDirectory("version: 1\ndefaults:\n  url: postgresql://x/{database}\nvenues:\n  - slug: a\n")
        let unknownOption = try await CLI.run(["backup", "--fleet", directory.fleet, "--no-such-option"])
        #expect(unknownOption.status == 2)
        #expect(unknownOption.stderr.contains("--no-such-option"))
        let badJobs = try await CLI.run(["backup", "--fleet", directory.fleet, "--jobs", "0"])
        #expect(badJobs.status == 2)
        let unknownVenue = try await CLI.run(["backup", "--fleet", directory.fleet, "--venue", "nowhere"])
        #expect(unknownVenue.status == 2)
        #expect(unknownVenue.stderr.contains("no venue `nowhere`"))
        #expect(directory.allFiles == ["fleet.yaml"])
    }

    @Test func backupWithOneFailingVenueExitsOneAndReportsEachVenue() async throws {
        try await cluster.createVenue(database: "gwi_pos_cli_ok")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: cli_ok
              - slug: cli_missing
              - slug: cli_off
                enabled: false
            """)
        let result = try await CLI.run(["backup", "--venue-table", "--fleet", directory.fleet])
        #expect(result.status == 1)
        #expect(result.stdout.contains("1 ok, 1 failed (cli_missing), 1 skipped"))
        // Failed venues come first in the table.
        #expect(result.stdout.split(separator: "\n").dropFirst().first?.hasPrefix("cli_missing  failed") == true)
        let report = try directory.report()
        #expect(report["command"] as? String == "backup")
        #expect(report["summary"] as? [String: Int] == ["ok": 1, "warning": 0, "failed": 1, "skipped": 1])
        let venues = try #require(report["venues"] as? [[String: Any]])
        #expect(venues.map { $0["status"] as? String } == ["ok", "failed", "skipped"])
        let ok = venues[0]
        let file = try #require(ok["file"] as? String)
        #expect(file.hasPrefix(directory.path + "/backups/cli_ok/gwi_pos_cli_ok-"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)).count == ok["bytes"] as? Int)
        #expect((ok["row_counts"] as? [String: Int])?["public.Order"] == 1000)
        #expect((ok["sha256"] as? String)?.count == 64)
        #expect((venues[1]["error"] as? String)?.contains("does not exist") == true)
        #expect(venues[2]["error"] as? String == "disabled in the fleet file")
        // Without a terminal, one logfmt line per finished venue goes to stderr.
        #expect(result.stderr.contains("level=info venue=cli_ok status=ok duration_ms="))
        #expect(result.stderr.contains("level=error venue=cli_missing status=failed duration_ms="))
    }

    @Test func jsonFlagPrintsTheSavedReport() async throws {
        try await cluster.createVenue(database: "gwi_pos_cli_json")
        let directory = try FleetDirectory("version: 1\ndefaults:\n  url: \(cluster.urlTemplate)\nvenues:\n  - slug: cli_json\n")
        let result = try await CLI.run(["check", "--fleet", directory.fleet, "--json"])
        #expect(result.status == 0)
        let printed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(printed?["command"] as? String == "check")
        let venue = (printed?["venues"] as? [[String: Any]])?.first
        #expect(venue?["pg_dump_compatible"] as? Bool == true)
        #expect((venue?["server_version"] as? String)?.hasPrefix("15.") == true)
        #expect(try directory.report()["started_at"] as? String == printed?["started_at"] as? String)
    }

    @Test func queryMergesRowsWithALeadingVenueColumn() async throws {
        try await cluster.createVenue(database: "gwi_pos_q_one")
        try await cluster.createVenue(database: "gwi_pos_q_two", scale: 2)
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: q_one
              - slug: q_two
            """)
        let csv = try await CLI.run(["query", #"SELECT count(*) AS orders, 'a,"b"' AS label FROM "Order""#, "--format", "csv",
                               "--fleet", directory.fleet])
        #expect(csv.status == 0)
        #expect(csv.stdout == "venue,orders,label\nq_one,1000,\"a,\"\"b\"\"\"\nq_two,2000,\"a,\"\"b\"\"\"\n")
        // Read-only: a write fails on every venue and the exit code says so.
        let write = try await CLI.run(["query", "DELETE FROM \"Order\"", "--fleet", directory.fleet])
        #expect(write.status == 1)
        #expect(write.stderr.contains("read-only transaction"))
        #expect(try await cluster.psql(database: "gwi_pos_q_one", sql: "SELECT count(*) FROM \"Order\"").hasPrefix("1000"))
    }

    @Test func passwordsNeverReachOutputReportsOrChildArguments() async throws {
        try await cluster.createVenue(database: "gwi_pos_secret")
        let password = cluster.password
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://\(cluster.passwordRole):\(password)@127.0.0.1:\(cluster.port)/{database}
            venues:
              - slug: secret
              - slug: secret_missing
            """)
        // A pg_dump first on PATH that records its arguments, then runs the real one. It is a file of
        // the repository, not one written here: a script written and run at once can fail with
        // ETXTBSY when another test forks while it is still open for writing.
        let bin = Repository.root + "/Tests/GwiFleetCLITests/Fixtures/bin"
        let argvFile = directory.path + "/pg_dump-argv.txt"
        let environment = ["PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
                           "GWI_TEST_ARGV_FILE": argvFile, "GWI_TEST_REAL_PG_DUMP": cluster.binDirectory + "/pg_dump"]

        var seen = ""
        for arguments in [["validate"], ["validate", "--json"], ["check"], ["backup"], ["backup", "--json"]] {
            let result = try await CLI.run(arguments + ["--fleet", directory.fleet], environment: environment)
            seen += result.stdout + result.stderr
            if arguments.first != "validate" { #expect(result.status == 1, "\(arguments): \(result.stderr)") }
        }
        for report in directory.reports { seen += try String(contentsOfFile: report, encoding: .utf8) }
        let argv = try String(contentsOfFile: argvFile, encoding: .utf8)
        #expect(argv.contains("--snapshot="))
        #expect(argv.contains("user=\(cluster.passwordRole)"))
        #expect(!argv.contains(password))
        #expect(!seen.contains(password))
        #expect(seen.contains("postgresql://\(cluster.passwordRole):***@127.0.0.1"))
        // And the backups did authenticate with that password.
        #expect(seen.contains("\"status\": \"ok\""))
        #expect(seen.contains("password authentication failed") == false)
    }

    @Test func passwordEnvSuppliesThePassword() async throws {
        try await cluster.createVenue(database: "gwi_pos_penv")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://\(cluster.passwordRole)@127.0.0.1:\(cluster.port)/{database}
              password_env: GWI_TEST_PG_PASSWORD
            venues:
              - slug: penv
            """)
        let withPassword = try await CLI.run(["backup", "--fleet", directory.fleet], environment: ["GWI_TEST_PG_PASSWORD": cluster.password])
        #expect(withPassword.status == 0)
        let wrong = try await CLI.run(["backup", "--fleet", directory.fleet], environment: ["GWI_TEST_PG_PASSWORD": "wrong-one"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("password authentication failed"))
        #expect(!wrong.stdout.contains("wrong-one") && !wrong.stderr.contains("wrong-one"))
        #expect(wrong.stderr.contains("the password came from $GWI_TEST_PG_PASSWORD (password_env)"), "\(wrong.stderr)")

        // Without password_env: the error names the password file libpq looked in, or its absence.
        let bare = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://\(cluster.passwordRole)@127.0.0.1:\(cluster.port)/{database}
            venues:
              - slug: penv
            """)
        let missing = try await CLI.run(["check", "--fleet", bare.fleet], environment: ["PGPASSFILE": bare.path + "/no-pgpass"], unsetting: ["PGPASSWORD"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no password anywhere") && missing.stderr.contains("\(bare.path)/no-pgpass (PGPASSFILE) does not exist"), "\(missing.stderr)")
        let passfile = bare.path + "/pgpass"
        try "127.0.0.1:\(cluster.port):*:\(cluster.passwordRole):stale-one\n".write(toFile: passfile, atomically: true, encoding: .utf8)
        chmod(passfile, 0o600)
        let stale = try await CLI.run(["check", "--fleet", bare.fleet], environment: ["PGPASSFILE": passfile], unsetting: ["PGPASSWORD"])
        #expect(stale.status == 1 && stale.stderr.contains("password authentication failed"))
        #expect(stale.stderr.contains("the password was looked for in \(passfile) (PGPASSFILE)") && !stale.stderr.contains("stale-one"), "\(stale.stderr)")

        let unset = try await CLI.run(["backup", "--fleet", directory.fleet])
        #expect(unset.status == 2)
        #expect(unset.stderr.contains("environment variable GWI_TEST_PG_PASSWORD is not set"))
    }

    @Test func sigtermStopsTheRunWritesTheReportAndExits130() async throws {
        try await cluster.createVenue(database: "gwi_pos_term")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              timeout: 5m
            venues:
              - slug: term
            """)
        // The backup's row count waits on this lock until the signal arrives.
        let blocker = try await PostgresConnection.connect(ConnectionInfo(parsing: cluster.url(database: "gwi_pos_term")))
        try await blocker.execute("BEGIN; LOCK TABLE \"Order\" IN ACCESS EXCLUSIVE MODE")
        let run = Task { try await CLI.run(["backup", "--fleet", directory.fleet]) }
        // Signal only once the backup is really waiting on the lock, however slow the machine.
        let admin = try await PostgresConnection.connect(ConnectionInfo(parsing: cluster.url(database: "postgres")))
        #expect(try await waitUntil {
            try await admin.query("""
                SELECT 1 FROM pg_stat_activity
                WHERE datname = 'gwi_pos_term' AND application_name = 'gwi-fleet' AND wait_event_type = 'Lock'
                """).rows.count == 1
        })
        let pids = ProcessTable.pids(commandContaining: [CLI.executable, directory.fleet])
        #expect(pids.count == 1)
        for pid in pids { kill(pid, SIGTERM) }
        let result = try await run.value
        try await blocker.execute("ROLLBACK")
        // Had it waited for the lock instead, it would still be running (or would have exited 0).
        #expect(result.status == 130)
        #expect(result.stdout.contains("(interrupted)"))
        let report = try directory.report()
        #expect(report["interrupted"] as? Bool == true)
        let venue = (report["venues"] as? [[String: Any]])?.first
        #expect(venue?["status"] as? String == "failed")
        #expect(venue?["error"] as? String == "interrupted")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: directory.path + "/backups/term"))?.sorted()
                == [".last-attempt.json", ".lock"])
    }
}


@Suite struct RecoveryCLITests {
    let cluster = TestCluster.shared

    @Test func backupThenVerifyMarksBackupsVerifiedInTheCatalog() async throws {
        try await cluster.createVenue(database: "gwi_pos_cat_one")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: cat_one
              - slug: cat_none
                enabled: false
            """)
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        let verify = try await CLI.run(["verify", "--venue-table", "--fleet", directory.fleet])
        #expect(verify.status == 0)
        #expect(verify.stdout.contains("checksum ok, restore ok, 6/6 tables matched"))
        let report = try directory.report()
        #expect(report["command"] as? String == "verify")
        let backups = ((report["venues"] as? [[String: Any]])?.first?["backups"] as? [[String: Any]])?.first
        #expect(backups?["tables_matched"] as? Int == 6)
        #expect(backups?["checksum_ok"] as? Bool == true)

        let listing = try await CLI.run(["backups", "--fleet", directory.fleet, "--json"])
        #expect(listing.status == 0)
        let parsed = try JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [String: Any]
        let venues = try #require(parsed?["venues"] as? [[String: Any]])
        let entries = try #require(venues.first?["backups"] as? [[String: Any]])
        #expect(entries.count == 1)
        #expect(entries.first?["state"] as? String == "verified")
        #expect(entries.first?["verified_at"] is String)
        #expect((venues.last?["backups"] as? [Any])?.isEmpty == true)

        // A restore without --yes over a database with data is refused, exit 1, nothing changed.
        let refused = try await CLI.run(["restore", "cat_one", "--fleet", directory.fleet])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("pass --yes"))
    }
}

@Suite struct MaintenanceCLITests {
    let cluster = TestCluster.shared

    /// Splits CSV text (RFC 4180 quoting) into rows of fields.
    func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var characters = Array(text)[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" {
                    if characters.first == "\"" { field.append("\""); characters.removeFirst() } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { row.append(field); field = "" }
            else if c == "\n" { row.append(field); rows.append(row); row = []; field = "" }
            else { field.append(c) }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    /// The cells of a Markdown table's body rows.
    func parseMarkdownTable(_ text: String, after heading: String? = nil) -> [[String]] {
        var lines = text.components(separatedBy: "\n")[...]
        if let heading, let index = lines.firstIndex(of: heading) { lines = lines[(index + 1)...] }
        let table = lines.drop { !$0.hasPrefix("|") }.prefix { $0.hasPrefix("|") }
        return table.dropFirst(2).map { line in
            line.dropFirst(2).dropLast(2).components(separatedBy: " | ").map { $0.replacingOccurrences(of: "\\|", with: "|") }
        }
    }

    @Test func sizesAndCountsCSVAndMarkdownParseBackToTheReportsNumbers() async throws {
        try await cluster.createVenue(database: "gwi_pos_fmt_a")
        try await cluster.createVenue(database: "gwi_pos_fmt_b", scale: 2)
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: fmt_a
              - slug: fmt_b
            """)
        let csv = try await CLI.run(["sizes", "--top", "3", "--format", "csv", "--fleet", directory.fleet])
        #expect(csv.status == 0)
        let rows = parseCSV(csv.stdout)
        #expect(rows.first == ["venue", "table", "total_bytes", "table_bytes", "index_bytes", "toast_bytes"])
        let report = try directory.report()
        let venues = try #require(report["venues"] as? [[String: Any]])
        let reported = venues.flatMap { venue in
            ((venue["largest_tables"] as? [[String: Any]]) ?? []).map { [venue["slug"] as! String, $0["table"] as! String, String($0["total_bytes"] as! Int)] }
        }
        #expect(rows.dropFirst().filter { $0[0] != "(fleet)" }.map { Array($0.prefix(3)) } == reported)
        let fleetTotal = (report["fleet_totals"] as? [String: Any])?["database_bytes"] as? Int
        #expect(rows.last?[2] == fleetTotal.map(String.init))

        let counts = try await CLI.run(["counts", "--table", "Order", "--format", "markdown", "--fleet", directory.fleet])
        #expect(counts.status == 0)
        let statusRows = parseMarkdownTable(counts.stdout)
        #expect(statusRows.map { $0[0] } == ["fmt_a", "fmt_b"])
        #expect(statusRows.map { $0[1] } == ["ok", "ok"])
        let countRows = parseMarkdownTable(counts.stdout, after: "### Row counts")
        #expect(countRows.map { Array($0.prefix(3)) } == [["fmt_a", "public.Order", "1000"], ["fmt_b", "public.Order", "2000"]])

        // A saved report re-renders the same way.
        let saved = try #require(directory.reports.last { $0.contains("/counts-") })
        let again = try await CLI.run(["report", saved, "--format", "markdown"])
        #expect(again.status == 0)
        #expect(parseMarkdownTable(again.stdout, after: "### Row counts") == countRows)
        let table = try await CLI.run(["report", saved])
        #expect(table.stdout.contains("fmt_b  public.Order  2000"))
    }

    @Test func sweepWarningsChangeTheExitCodeOnlyWhenStrict() async throws {
        try await cluster.createVenue(database: "gwi_pos_sw_a")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: sw_a
            """)
        let lenient = try await CLI.run(["sweep", "--venue-table", "--fleet", directory.fleet])
        #expect(lenient.status == 0)
        #expect(lenient.stdout.contains("warning"))
        #expect(lenient.stdout.contains("no complete backup"))
        let strict = try await CLI.run(["sweep", "--strict", "--fleet", directory.fleet])
        #expect(strict.status == 1)
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        let healthy = try await CLI.run(["sweep", "--strict", "--fleet", directory.fleet, "--json"])
        #expect(healthy.status == 0)
        let report = try JSONSerialization.jsonObject(with: Data(healthy.stdout.utf8)) as? [String: Any]
        #expect(report?["summary"] as? [String: Int] == ["ok": 1, "warning": 0, "failed": 0, "skipped": 0])
        let venue = (report?["venues"] as? [[String: Any]])?.first
        #expect((venue?["backup"] as? [String: Any])?["verdict"] as? String == "fresh")
        // The second sweep compares sizes with the first.
        #expect(venue?["growth_bytes"] is Int)
    }

    @Test func reportRejectsAFileThatIsNotAReport() async throws {
        let directory = try FleetDirectory("version: 1\n")
        let result = try await CLI.run(["report", directory.fleet])
        #expect(result.status == 2)
        #expect(result.stderr.contains("is not a gwi-fleet report"))
    }
}

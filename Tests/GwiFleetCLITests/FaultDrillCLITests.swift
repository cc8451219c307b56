import Foundation
import PostgresClient
import Testing
import TestSupport

/// The fault drill, through the executable: the faults that need the whole program (argv, exit
/// codes, signals, files beside the run). Numbered as in the drill's list.
@Suite struct FaultDrillCLITests {
    let cluster = TestCluster.shared

    func venues(_ report: [String: Any]) -> [String: [String: Any]] {
        let list = report["venues"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: list.map { ($0["slug"] as? String ?? "", $0) })
    }

    // 9. `{database}` was pasted into URLs unescaped: a name could point the venue at another database.
    @Test func aDatabaseNameCannotRedirectTheConnection() async throws {
        try await cluster.createVenue(database: "gwi_pos_inject_target")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: uri
                database: "gwi_pos_uri?dbname=gwi_pos_inject_target"
              - slug: kv
                database: "x host=nonexistent.invalid dbname=gwi_pos_inject_target"
                url: host=127.0.0.1 port=\(cluster.port) user=postgres dbname={database}
            """)
        let result = try await CLI.run(["check", "--fleet", directory.fleet])
        #expect(result.status == 1)
        let byVenue = venues(try directory.report())
        for slug in ["uri", "kv"] {
            #expect(byVenue[slug]?["status"] as? String == "failed")
            #expect((byVenue[slug]?["error"] as? String)?.contains("does not exist") == true, "\(byVenue[slug] ?? [:])")
        }
    }

    // 10. A failure that could not be recorded was treated as success, and prune went ahead.
    @Test func anAttemptThatCannotBeRecordedFailsTheVenueAndPrunesNothing() async throws {
        try await cluster.createVenue(database: "gwi_pos_norecord")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: norecord
            """)
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        // The attempt record's name is taken by a directory: it can no longer be written.
        let record = directory.path + "/backups/norecord/.last-attempt.json"
        try FileManager.default.removeItem(atPath: record)
        try FileManager.default.createDirectory(atPath: record, withIntermediateDirectories: false)
        let dumpsBefore = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/backups/norecord").filter { $0.hasSuffix(".dump.zst") }
        let result = try await CLI.run(["backup", "--prune", "--fleet", directory.fleet])
        #expect(result.status == 1)
        let venue = venues(try directory.report())["norecord"] ?? [:]
        #expect((venue["error"] as? String)?.contains("attempt record could not be saved") == true, "\(venue)")
        #expect((venue["error"] as? String)?.contains("nothing was dumped") == true, "\(venue)")
        let dumpsAfter = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/backups/norecord").filter { $0.hasSuffix(".dump.zst") }
        #expect(dumpsAfter == dumpsBefore)
        // A record that cannot be read is a failed attempt to a later prune, never a good night.
        let prune = try await CLI.run(["prune", "--fleet", directory.fleet])
        #expect(prune.status == 0, "\(prune.stdout)\(prune.stderr)")
        let skipped = venues(try directory.report())["norecord"] ?? [:]
        #expect(skipped["status"] as? String == "skipped" && (skipped["error"] as? String)?.contains("cannot be read") == true, "\(skipped)")
    }

    // Issue 20.4: a disk that fills while the backup is written cannot record the failure beside
    // the old record; the last night's "ok" stayed, status said ok and prune deleted a backup.
    @Test func aFullDiskDuringABackupLeavesAFailedAttemptAndPrunesNothing() async throws {
        try await cluster.createVenue(database: "gwi_pos_diskfull")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              backup:
                retention: {keep_days: 30, keep_min: 1}
            venues:
              - slug: diskfull
            """)
        let day: TimeInterval = 86_400
        for age in [40.0, 35.0] {
            let backup = try await CLI.run(["backup", "--fleet", directory.fleet], environment: ["GWI_NOW": CLI.iso(Date().addingTimeInterval(-age * day))])
            #expect(backup.status == 0, "\(backup.stderr)")
        }
        let venueDirectory = directory.path + "/backups/diskfull"
        let dumpsBefore = try FileManager.default.contentsOfDirectory(atPath: venueDirectory).filter { $0.hasSuffix(".dump.zst") }.sorted()
        #expect(dumpsBefore.count == 2)
        // A private mount namespace: the venue's directory becomes a small tmpfs holding a copy of
        // its backups, filled to the last byte; the mount vanishes with the shell.
        let script = """
            set -u
            copy=$(mktemp -d); cp -a "$DIR"/. "$copy"/
            mount -t tmpfs -o size=1m tmpfs "$DIR" || exit 99
            cp -a "$copy"/. "$DIR"/; rm -rf "$copy"
            dd if=/dev/zero of="$DIR/filler" bs=4k 2>/dev/null
            "$GWI" backup --fleet "$FLEET" >/dev/null 2>&1; echo "backup=$?"
            "$GWI" status --json --fleet "$FLEET" > "$OUT/status.json" 2>/dev/null; echo "status=$?"
            "$GWI" prune --fleet "$FLEET" >/dev/null 2>&1; echo "prune=$?"
            ls "$DIR" | grep 'dump.zst$' | sort | tr '\\n' ' '
            """
        let out = try FileManager.default.url(for: .itemReplacementDirectory, in: .userDomainMask,
                                              appropriateFor: URL(fileURLWithPath: directory.path), create: true).path
        var environment = ProcessInfo.processInfo.environment
        environment["DIR"] = venueDirectory
        environment["GWI"] = CLI.executable
        environment["FLEET"] = directory.fleet
        environment["OUT"] = out
        let run = try await Shell.captureInBackground("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script], environment: environment)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(run.stdout)\(run.stderr)")
        #expect(lines.first == "backup=1", "\(run.stdout)\(run.stderr)")
        // status judges by the failed attempt, not the old record.
        let status = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/status.json"))) as? [String: Any]
        let row = (status?["venues"] as? [[String: Any]])?.first { $0["slug"] as? String == "diskfull" }
        let attempt = row?["last_attempt"] as? [String: Any]
        #expect(attempt?["status"] as? String == "failed", "\(row ?? [:])")
        #expect(lines.count > 2 && lines[2] == "prune=0", "\(run.stdout)")
        let pruned = venues(try directory.report())["diskfull"] ?? [:]
        #expect(pruned["status"] as? String == "skipped" && (pruned["error"] as? String)?.contains("No space left on device") == true, "\(pruned)")
        // Both old backups are still there.
        #expect(lines.last?.split(separator: " ").map(String.init) == dumpsBefore, "\(run.stdout)")
    }

    @Test func aReportThatCannotBeSavedFailsTheRun() async throws {
        try await cluster.createVenue(database: "gwi_pos_noreport")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            reports:
              dir: reports-is-a-file
            venues:
              - slug: noreport
            """)
        try Data("x".utf8).write(to: URL(fileURLWithPath: directory.path + "/reports-is-a-file"))
        let result = try await CLI.run(["check", "--fleet", directory.fleet])
        #expect(result.status == 1)
        #expect(result.stderr.contains("the report could not be saved"), "\(result.stderr)")
    }

    // 11. A combined export across schema versions wrote a header from one venue over rows of another.
    @Test func aCombinedExportOfDifferentColumnsIsRefusedNamingTheVenues() async throws {
        try await cluster.createVenue(database: "gwi_pos_cols_old")
        try await cluster.createVenue(database: "gwi_pos_cols_new")
        try await cluster.psql(database: "gwi_pos_cols_new", sql: "ALTER TABLE \"Order\" ADD COLUMN tip_cents int")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: cols_old
              - slug: cols_new
            """)
        let target = directory.path + "/orders.csv"
        let result = try await CLI.run(["export", "--table", "Order", "--combined", target, "--fleet", directory.fleet])
        #expect(result.status == 1)
        let problems = try directory.report()["problems"] as? [String] ?? []
        #expect(problems.first?.contains("cols_old have (") == true && problems.first?.contains("cols_new have (") == true, "\(problems)")
        #expect(problems.first?.contains("tip_cents") == true)
        #expect(!FileManager.default.fileExists(atPath: target))
        #expect(!directory.allFiles.contains { $0.hasSuffix(".part") })
    }

    // 12. `sslpassword` from a URL reached pg_dump's argv.
    @Test func anSSLPasswordNeverReachesAChildsArguments() async throws {
        try await cluster.createVenue(database: "gwi_pos_sslpw")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://postgres@127.0.0.1:\(cluster.port)/{database}?sslmode=disable&sslpassword=Ssl-Pa55-never-shown
            venues:
              - slug: sslpw
            """)
        let bin = Repository.root + "/Tests/GwiFleetCLITests/Fixtures/bin"
        let argvFile = directory.path + "/pg_dump-argv.txt"
        let result = try await CLI.run(["backup", "--fleet", directory.fleet], environment: [
            "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "GWI_TEST_ARGV_FILE": argvFile, "GWI_TEST_REAL_PG_DUMP": cluster.binDirectory + "/pg_dump"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let argv = try String(contentsOfFile: argvFile, encoding: .utf8)
        #expect(argv.contains("--dbname=") && argv.contains("service=gwi_fleet_child"))
        #expect(!argv.contains("Ssl-Pa55-never-shown"))
        #expect(!(result.stdout + result.stderr).contains("Ssl-Pa55-never-shown"))
        // The 0600 service file that carried it is gone afterwards.
        #expect(!((try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? []).contains { $0.hasPrefix("gwi-fleet-secret-") })
    }

    // 14. `export --where` smuggling a second statement spun at 100% CPU and ignored Ctrl-C.
    @Test func aSmuggledStatementInAnExportFailsAtOnce() async throws {
        try await cluster.createVenue(database: "gwi_pos_smuggle")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              timeout: 60s
            venues:
              - slug: smuggle
            """)
        let started = ContinuousClock.now
        let result = try await CLI.run(["export", "--table", "Order", "--where", "true) TO STDOUT; COPY (SELECT 1",
                                        "--out", directory.path + "/csv", "--fleet", directory.fleet])
        #expect(result.status == 1)
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect((venues(try directory.report())["smuggle"]?["error"] as? String)?.contains("export") == true)
    }

    // 16. A backend that stops answering kept `query` running past its timeout and past SIGINT.
    @Test func aFrozenBackendCannotHoldAQueryPastItsDeadline() async throws {
        try await cluster.createVenue(database: "gwi_pos_frozen")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              timeout: 3s
            venues:
              - slug: frozen
            """)
        let marker = "frozen_\(Int.random(in: 100_000...999_999))"
        let run = Task { try await CLI.run(["query", "SELECT pg_sleep(30) AS \(marker)", "--fleet", directory.fleet]) }
        let admin = try await PostgresConnection.connect(ConnectionInfo(parsing: cluster.url(database: "postgres")))
        var backend: Int32?
        _ = try await waitUntil(seconds: 5) {
            backend = try await admin.query("SELECT pid FROM pg_stat_activity WHERE query LIKE '%\(marker)%' AND pid <> pg_backend_pid()").scalar.flatMap { Int32($0) }
            return backend != nil
        }
        let pid = try #require(backend)
        kill(pid, SIGSTOP)
        let started = ContinuousClock.now
        let result = try await run.value
        let waited = ContinuousClock.now - started
        kill(pid, SIGCONT)
        _ = try await admin.query("SELECT pg_terminate_backend($1)", [String(pid)])
        #expect(result.status == 1)
        #expect(waited < .seconds(10), "query ended \(waited) after the backend froze")
        #expect((venues(try directory.report())["frozen"]?["error"] as? String)?.hasPrefix("timed out after 3s") == true)
    }

    // 17. `restore` of a disabled venue was "skipped" with exit 0.
    @Test func restoringADisabledVenueIsRefused() async throws {
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: retired
                enabled: false
            """)
        let result = try await CLI.run(["restore", "retired", "--fleet", directory.fleet])
        #expect(result.status == 1)
        #expect(result.stderr.contains("restore refused: venue `retired` is disabled"), "\(result.stderr)")
    }

    // 18. `query` runs read-only but could still read server files; --role runs it as a lesser role.
    @Test func queryAsALeastPrivilegedRoleCannotReadServerFiles() async throws {
        try await cluster.createVenue(database: "gwi_pos_role")
        try await cluster.psql(database: "postgres", sql: "DO $$ BEGIN CREATE ROLE gwi_readonly NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        try await cluster.psql(database: "gwi_pos_role", sql: "GRANT SELECT ON ALL TABLES IN SCHEMA public TO gwi_readonly")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: role
            """)
        let asSuperuser = try await CLI.run(["query", "SELECT length(pg_read_file('PG_VERSION')) > 0", "--fleet", directory.fleet])
        #expect(asSuperuser.status == 0)
        let limited = try await CLI.run(["query", "SELECT length(pg_read_file('PG_VERSION')) > 0", "--role", "gwi_readonly", "--fleet", directory.fleet])
        #expect(limited.status == 1)
        #expect((venues(try directory.report())["role"]?["error"] as? String)?.contains("permission denied") == true)
        let counted = try await CLI.run(["query", "SELECT count(*) FROM \"Order\"", "--role", "gwi_readonly", "--format", "csv", "--fleet", directory.fleet])
        #expect(counted.status == 0 && counted.stdout.contains("role,1000"), "\(counted.stdout)")
    }
}

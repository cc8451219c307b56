@testable import FleetEngine
import FleetModel
import Foundation
import PostgresClient
import Testing
import TestSupport

@Suite struct MaintenanceTests {
    let cluster = TestCluster.shared

    func count(_ database: String, _ table: String) async throws -> Int {
        Int(try await cluster.psql(database: database, sql: "SELECT count(*) FROM \(table)").trimmingCharacters(in: .whitespacesAndNewlines))!
    }

    @Test func countsAreExactAndShowTheDriftSinceTheLatestBackup() async throws {
        try await cluster.createVenue(database: "gwi_pos_cnt")
        let venue = testVenue("cnt", directory: try scratchDirectory("cnt"))
        _ = try await VenueDumper(tools: try await PgTools.locate()).backup(venue)
        try await cluster.psql(database: "gwi_pos_cnt", sql: "INSERT INTO \"Order\" (opened_at, status) SELECT now(), 'open' FROM generate_series(1, 17)")
        let figures = try await CountsOperation().run(venue)
        let rows = figures.counts
        #expect(rows.count == 6)
        for row in rows {
            let quoted = row.table.split(separator: ".", maxSplits: 1).map { SQLQuoting.identifier(String($0)) }.joined(separator: ".")
            let expected = try await count("gwi_pos_cnt", quoted)
            #expect(row.rows == expected, "\(row.table)")
        }
        let order = try #require(rows.first { $0.table == "public.Order" })
        #expect(order.drift == 17)
        #expect(order.backupRows == 1000)
        #expect(rows.first { $0.table == "public.MenuItem" }?.drift == 0)
    }

    @Test func anUnknownTableFailsOnlyTheVenueThatLacksIt() async throws {
        try await cluster.createVenue(database: "gwi_pos_has_extra")
        try await cluster.createVenue(database: "gwi_pos_no_extra")
        try await cluster.psql(database: "gwi_pos_has_extra", sql: "CREATE TABLE \"Audit Extra\" (i int); INSERT INTO \"Audit Extra\" VALUES (1), (2)")
        let directory = try scratchDirectory("extra")
        let venues = [testVenue("has_extra", directory: directory), testVenue("no_extra", directory: directory)]
        let operation = CountsOperation(tables: ["Audit Extra", "public.Order"])
        let outcomes = await FleetRunner(jobs: 2).run(venues) { try await operation.run($0) }
        #expect(outcomes.map(\.status) == [.ok, .failed])
        #expect(outcomes[1].error == "no table \"Audit Extra\" in this database")
        let rows = outcomes[0].result(as: CountsResult.self)?.counts ?? []
        #expect(rows.map(\.table) == ["public.Audit Extra", "public.Order"])
        #expect(rows.map(\.rows) == [2, 1000])
    }

    @Test func sizesMatchPostgresOwnFunctions() async throws {
        try await cluster.createVenue(database: "gwi_pos_sizes", scale: 2)
        let venue = testVenue("sizes", directory: try scratchDirectory("sizes"))
        let figures = try await SizesOperation(top: 3).run(venue)
        let tables = figures.largestTables
        #expect(tables.count == 3)
        for row in tables {
            let table = row.table
            let name = SQLQuoting.literal(table.split(separator: ".", maxSplits: 1).map { SQLQuoting.identifier(String($0)) }.joined(separator: "."))
            let sql = "SELECT pg_total_relation_size(\(name)::regclass), pg_relation_size(\(name)::regclass), pg_indexes_size(\(name)::regclass)"
            let expected = try await cluster.psql(database: "gwi_pos_sizes", sql: sql).trimmingCharacters(in: .whitespacesAndNewlines)
                .split(separator: "|").map { Int($0)! }
            #expect([row.totalBytes, row.tableBytes, row.indexBytes] == expected, "\(table)")
        }
        let sizes = tables.map(\.totalBytes)
        #expect(sizes == sizes.sorted(by: >))
        #expect(tables.first?.table == "public.OrderItem")

        let totals = SizesOperation.fleetTotals([
            VenueOutcome(slug: "a", database: "a", status: .ok, result: figures),
            VenueOutcome(slug: "b", database: "b", status: .ok, result: figures),
        ], top: 2)
        #expect(totals.databaseBytes == 2 * figures.databaseBytes)
        #expect(totals.largestTables?.map(\.venue) == ["a", "b"])
    }

    @Test func aVenueHoldingAConflictingLockFailsWithALockTimeoutWhileTheRestSucceed() async throws {
        try await cluster.createVenue(database: "gwi_pos_locked_a")
        try await cluster.createVenue(database: "gwi_pos_free_a")
        let blocker = try await PostgresConnection.connect(ConnectionInfo(parsing: cluster.url(database: "gwi_pos_locked_a")))
        try await blocker.execute("BEGIN; LOCK TABLE \"Order\" IN ACCESS EXCLUSIVE MODE")
        let directory = try scratchDirectory("locks")
        // lock_timeout is half the venue timeout: 8 s, well inside the deadline even on a busy machine.
        let venues = [testVenue("locked_a", directory: directory, timeout: .seconds(16)), testVenue("free_a", directory: directory, timeout: .seconds(16))]
        let outcomes = await FleetRunner(jobs: 2).run(venues) { try await AnalyzeOperation().run($0) }
        try await blocker.execute("ROLLBACK")
        #expect(outcomes.map(\.status) == [.failed, .ok])
        #expect(outcomes[0].error?.hasPrefix("ANALYZE: lock timeout: another session holds a conflicting lock") == true)
        #expect(outcomes[1].result(as: AnalyzeResult.self)?.tables == 6)
    }

    @Test func backupAgeVerdictIsFreshStaleOrNoneFromRealManifests() async throws {
        try await cluster.createVenue(database: "gwi_pos_age")
        let directory = try scratchDirectory("age")
        var venue = testVenue("age", directory: directory)
        venue.maxBackupAge = .seconds(26 * 3600)
        let freshness = { (now: Date) in PolicyJudge.freshness(of: venue, latest: BackupCatalog.latestRestorePoint(of: venue), now: now) }
        #expect(freshness(Date()) == .none)
        _ = try await VenueDumper(tools: try await PgTools.locate()).backup(venue)
        #expect(freshness(Date()) == .fresh)
        #expect(freshness(Date().addingTimeInterval(27 * 3600)) == .stale)

        let later = Date().addingTimeInterval(30 * 3600)
        let stale = try await SweepOperation(now: { later }).run(venue)
        #expect(stale.warnings.contains { $0.hasPrefix("latest complete backup is 30h") && $0.contains("backup.max_age 1d2h") })
        let fresh = try await SweepOperation().run(venue)
        #expect(fresh.warnings.isEmpty)
        #expect(fresh.backup.verdict == "fresh")
        #expect(fresh.counts.map(\.table) == ["public.Order", "public.MenuItem"])

        let none = testVenue("age", directory: try scratchDirectory("age-none"))
        let outcomes = await FleetRunner(jobs: 1).run([none]) { try await SweepOperation().run($0) }
        #expect(outcomes[0].status == .warning)
        #expect(outcomes[0].warnings == ["no complete backup (run gwi-fleet backup)"])
    }

    @Test func sweepWarnsAboutGrowthAndMissingVerifyTables() async throws {
        try await cluster.createVenue(database: "gwi_pos_grow")
        var venue = testVenue("grow", directory: try scratchDirectory("grow"))
        venue.verifyTables = ["Order", "Nonexistent"]
        _ = try await VenueDumper(tools: try await PgTools.locate()).backup(venue)
        let figures = try await SweepOperation(previousSizes: ["grow": 1_000_000]).run(venue)
        #expect(figures.warnings.contains { $0.hasPrefix("database grew") })
        #expect(figures.warnings.contains("no table \"Nonexistent\" in this database"))
        #expect(figures.growthBytes == figures.databaseBytes - 1_000_000)
    }

    @Test func maintenanceTimeoutsComeFromTheVenueTimeout() {
        #expect(MaintenanceSession.limits(for: .seconds(4)) == (2000, 3600))
        #expect(MaintenanceSession.limits(for: .seconds(30 * 60)) == (60_000, 1_620_000))
    }
}

@Suite struct SweepFaultTests {
    let cluster = TestCluster.shared

    @Test func aVenueThatGoesAwayMidSweepFailsAlone() async throws {
        try await cluster.createVenue(database: "gwi_pos_gone")
        try await cluster.createVenue(database: "gwi_pos_stays")
        // Hold the sweep on a lock in the venue that will go away, then kill its session there.
        let blocker = try await PostgresConnection.connect(ConnectionInfo(parsing: cluster.url(database: "gwi_pos_gone")))
        try await blocker.execute("BEGIN; LOCK TABLE \"Order\" IN ACCESS EXCLUSIVE MODE")
        let directory = try scratchDirectory("gone")
        let venues = [testVenue("gone", directory: directory, timeout: .seconds(60)), testVenue("stays", directory: directory)]
        let sweep = Task { await FleetRunner(jobs: 2).run(venues) { try await SweepOperation().run($0) } }
        let admin = try await PostgresConnection.connect(ConnectionInfo(parsing: cluster.url(database: "postgres")))
        let terminated = try await waitUntil(seconds: 10, every: .milliseconds(100)) {
            try await !admin.query("""
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = 'gwi_pos_gone' AND application_name = 'gwi-fleet' AND wait_event_type = 'Lock'
                """).rows.isEmpty
        }
        #expect(terminated)
        let outcomes = await sweep.value
        try await blocker.execute("ROLLBACK")
        #expect(outcomes[0].status == .failed)
        #expect(outcomes[0].error?.hasPrefix("ANALYZE: connection lost:") == true, "\(outcomes[0].error ?? "")")
        #expect(outcomes[1].status == .warning)  // no backup yet, but swept
        #expect(outcomes[1].result(as: SweepResult.self)?.counts.count == 2)
    }
}

@Suite struct SweepCountFailureTests {
    let cluster = TestCluster.shared

    @Test func aSweepWhoseCountHitsALockTimeoutFails() async throws {
        // Row-level security makes counting "Gated" wait on an advisory lock held elsewhere. The
        // sweep runs as a role that owns nothing, so ANALYZE and the sizes pass; only the count waits.
        try await cluster.createVenue(database: "gwi_pos_count_lock")
        try await cluster.psql(database: "gwi_pos_count_lock", sql: """
            DO $$ BEGIN CREATE ROLE sweeper LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
            CREATE FUNCTION gate() RETURNS int LANGUAGE sql AS 'SELECT pg_advisory_xact_lock_shared(4242); SELECT 1';
            CREATE TABLE "Gated" (id int);
            INSERT INTO "Gated" VALUES (1);
            ALTER TABLE "Gated" ENABLE ROW LEVEL SECURITY;
            CREATE POLICY wait_for_gate ON "Gated" USING (gate() = 1);
            GRANT SELECT ON ALL TABLES IN SCHEMA public TO sweeper;
            """)
        let holder = try await PostgresConnection.connect(ConnectionInfo(parsing: cluster.url(database: "gwi_pos_count_lock")))
        _ = try await holder.query("SELECT pg_advisory_lock(4242)")
        let url = "postgresql://sweeper@localhost/gwi_pos_count_lock?host=\(cluster.directory)&port=\(cluster.port)"
        // lock_timeout is half the venue timeout: 8 s, with room for the rest of the sweep on a busy machine.
        var venue = testVenue("count_lock", url: url, directory: try scratchDirectory("count-lock"), timeout: .seconds(16))
        venue.verifyTables = ["Order", "Gated"]
        let outcomes = await FleetRunner(jobs: 1).run([venue]) { try await SweepOperation().run($0) }
        _ = try await holder.query("SELECT pg_advisory_unlock(4242)")
        #expect(outcomes[0].status == .failed)
        #expect(outcomes[0].error?.hasPrefix("count rows: lock timeout") == true, "\(outcomes[0].error ?? "")")
    }
}

@testable import FleetEngine
import FleetModel
import Foundation
import Synchronization
import Testing
import TestSupport

/// In-place restores and the server's shared lock table: on a server whose table holds 420 locks,
/// a restore that alone needs more is refused before anything changes, and two that fit alone
/// but not together run one after the other.
// Serialized: its venues share one server with a lock table of 420 entries, which their backups
// (pg_dump locks every table) would otherwise exhaust together.
@Suite(.serialized) struct RestoreLockTests {
    let cluster = TestCluster.lockLimited

    func tools() async throws -> PgTools { try await PgTools.locate() }

    /// A venue of `tables` tables, each with a primary key, a text column (a TOAST table) and an
    /// index, backed up; then a row of each table deleted, so a restore would change them.
    func backedUp(_ slug: String, tables: Int) async throws -> (Venue, BackupManifest) {
        let database = "gwi_pos_\(slug)"
        try await cluster.createDatabase(database)
        // One table per transaction: the server's lock table is small on purpose.
        try await cluster.psql(database: database, sql: """
            DO $$ BEGIN FOR i IN 1..\(tables) LOOP
              EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, b text)', i);
              EXECUTE format('CREATE INDEX ON t%s (b)', i);
              EXECUTE format('INSERT INTO t%s SELECT g, g::text FROM generate_series(1, 3) g', i);
              COMMIT;
            END LOOP; END $$
            """)
        let venue = testVenue(slug, database: database, url: cluster.url(database: database), directory: try scratchDirectory(slug))
        let manifest = try await VenueDumper(tools: try await tools()).backup(venue)
        try await cluster.psql(database: database, sql: "DO $$ BEGIN FOR i IN 1..\(tables) LOOP EXECUTE format('DELETE FROM t%s WHERE id = 1', i); END LOOP; END $$")
        return (venue, manifest)
    }

    @Test func anInPlaceRestoreThatCannotFitTheLockTableIsRefusedBeforeAnythingChanges() async throws {
        let (venue, _) = try await backedUp("lock_big", tables: 40)
        let before = try await cluster.rowCounts(database: venue.database)
        let filesBefore = files(in: BackupCatalog.directory(of: venue))
        let restore = RestoreOperation(tools: try await tools(), target: .inPlace, confirmed: true)
        let outcome = await FleetRunner(jobs: 1).run([venue]) { try await restore.run($0) }[0]
        #expect(outcome.status == .failed)
        let error = outcome.error ?? ""
        #expect(error.contains("max_locks_per_transaction") && error.contains("420") && error.contains("nothing was touched"), "\(error)")
        #expect(try await cluster.rowCounts(database: venue.database) == before)
        // Not even a safety backup: nothing was done.
        #expect(files(in: BackupCatalog.directory(of: venue)) == filesBefore)
    }

    // Drill: the estimate read only the dump, but --clean also drops what a migration added since
    // (here three more indexes a table): a restore that fits by its dump alone no longer fits.
    @Test func whatTheLiveDatabaseGainedSinceTheBackupCountsToo() async throws {
        let (venue, _) = try await backedUp("lock_grown", tables: 20)
        try await cluster.psql(database: venue.database, sql: """
            DO $$ BEGIN FOR i IN 1..20 LOOP
              EXECUTE format('CREATE INDEX ON t%s (id, b)', i); EXECUTE format('CREATE INDEX ON t%s (b, id)', i);
              EXECUTE format('CREATE INDEX ON t%s (lower(b))', i);
              COMMIT;
            END LOOP; END $$
            """)
        let before = try await cluster.rowCounts(database: venue.database)
        let restore = RestoreOperation(tools: try await tools(), target: .inPlace, confirmed: true)
        let outcome = await FleetRunner(jobs: 1).run([venue]) { try await restore.run($0) }[0]
        #expect(outcome.status == .failed)
        #expect((outcome.error ?? "").contains("max_locks_per_transaction"), "\(outcome.error ?? "")")
        #expect(try await cluster.rowCounts(database: venue.database) == before)
    }

    @Test func twoInPlaceRestoresThatFitAloneButNotTogetherBothSucceedOneAfterTheOther() async throws {
        let (first, firstManifest) = try await backedUp("lock_one", tables: 20)
        let (second, secondManifest) = try await backedUp("lock_two", tables: 20)
        let server = RestoreOperation.serverKey(DatabaseRestorer.Server(info: try VenueConnector().connectionInfo(for: first, .direct)))
        let paused = Mutex(false)
        var restore = RestoreOperation(tools: try await tools(), target: .inPlace, confirmed: true)
        // The first restore to hold its locks keeps them until the other is seen waiting for room.
        restore.whileHoldingLocks = {
            guard paused.withLock({ let first = !$0; $0 = true; return first }) else { return }
            _ = await waitUntil(seconds: 120) { LockBudget.Servers.shared.waiting(on: server) > 0 }
        }
        let operation = restore
        let outcomes = await FleetRunner(jobs: 2).run([first, second]) { try await operation.run($0) }
        for outcome in outcomes { #expect(outcome.status == .ok, "\(outcome.slug): \(outcome.error ?? "")") }
        #expect(try await cluster.rowCounts(database: first.database) == firstManifest.rowCounts)
        #expect(try await cluster.rowCounts(database: second.database) == secondManifest.rowCounts)
        let waited = outcomes.filter { $0.summary.contains("waited for room in the server's lock table") }
        #expect(waited.count == 1, "\(outcomes.map(\.summary))")
    }

    @Test func theEstimateCountsWhatAnInPlaceRestoreLocks() {
        let listing = """
            ;
            ; Archive created at 2026-11-26 13:45:01 UTC
            ;
            215; 1259 16386 TABLE public t1 postgres
            216; 1259 16391 SEQUENCE public t1_id_seq postgres
            3350; 0 16386 TABLE DATA public t1 postgres
            3360; 0 0 SEQUENCE SET public t1_id_seq postgres
            3201; 2606 16395 CONSTRAINT public t1 t1_pkey postgres
            3202; 1259 16397 INDEX public t1_b_idx postgres
            3203; 2606 16398 FK CONSTRAINT public t2 t2_p_fkey postgres
            3361; 0 0 COMMENT public TABLE t1 postgres
            218; 1259 16400 MATERIALIZED VIEW public totals postgres
            3362; 0 16400 MATERIALIZED VIEW DATA public totals postgres
            219; 1255 16401 FUNCTION public f() postgres
            """
        let kinds = LockBudget.tableOfContents(listing)
        #expect(kinds == ["TABLE": 2, "SEQUENCE": 1, "CONSTRAINT": 1, "INDEX": 1, "FK CONSTRAINT": 1, "OTHER": 1])
        // 2×8 + 3 + 3 + 2 + 5 + 2 = 31, a quarter more and 20.
        #expect(LockBudget.weighted(kinds) == 31 + 7 + 20)
    }
}

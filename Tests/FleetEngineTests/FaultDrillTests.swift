@testable import FleetEngine
import FleetModel
import Foundation
import PostgresClient
import Synchronization
import Testing
import TestSupport

/// The fault drill: every fault found by breaking things on purpose, one test each, numbered as in
/// the drill's list. New faults get a test here.
@Suite struct FaultDrillTests {
    let cluster = TestCluster.shared

    func tools() async throws -> PgTools { try await PgTools.locate() }

    func backedUp(_ slug: String, format: BackupFormat = .custom, scale: Int = 1) async throws -> (Venue, BackupManifest) {
        try await cluster.createVenue(database: "gwi_pos_\(slug)", scale: scale)
        let venue = testVenue(slug, directory: try scratchDirectory(slug), format: format)
        return (venue, try await VenueDumper(tools: try await tools()).backup(venue))
    }

    /// A venue database owned by the app's role (not a superuser), with a setting, a role setting,
    /// a comment, grants and a connection limit, as the product has them.
    func ownedByTheApp(_ database: String) async throws {
        try await cluster.psql(database: "postgres", sql: """
            DO $$ BEGIN CREATE ROLE gwi_app LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
            DO $$ BEGIN CREATE ROLE gwi_reporter LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
            ALTER DATABASE \(database) OWNER TO gwi_app;
            ALTER DATABASE \(database) SET work_mem = '64MB';
            ALTER DATABASE \(database) CONNECTION LIMIT 50;
            ALTER ROLE gwi_reporter IN DATABASE \(database) SET search_path = app, public;
            COMMENT ON DATABASE \(database) IS 'venue database; owner gwi_app';
            REVOKE CONNECT ON DATABASE \(database) FROM PUBLIC;
            GRANT CONNECT ON DATABASE \(database) TO gwi_reporter;
            """)
        try await cluster.psql(database: database, sql: """
            DO $$ DECLARE r record; BEGIN
              FOR r IN SELECT c.oid::regclass AS name FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' LOOP
                EXECUTE format('ALTER TABLE %s OWNER TO gwi_app', r.name);  -- its sequences follow
              END LOOP; END $$;
            """)
    }

    /// The database-level facts a recovery must keep, as catalog text.
    func facts(_ database: String) async throws -> String {
        try await cluster.psql(database: "postgres", sql: """
            SELECT pg_get_userbyid(d.datdba), d.datconnlimit, pg_encoding_to_char(d.encoding), d.datcollate, d.datacl::text,
                   shobj_description(d.oid, 'pg_database'),
                   (SELECT string_agg(coalesce(pg_get_userbyid(nullif(s.setrole, 0)), '*') || ':' || array_to_string(s.setconfig, ','), ';' ORDER BY s.setrole)
                    FROM pg_db_role_setting s WHERE s.setdatabase = d.oid)
            FROM pg_database d WHERE d.datname = '\(database)'
            """)
    }

    /// As the app's role, over the socket: what the app can still do after a recovery.
    func asApp(_ database: String, _ sql: String) async throws -> String {
        try await Shell.runInBackground(cluster.binDirectory + "/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", cluster.directory,
                                                                         "-p", String(cluster.port), "-U", "gwi_app", "-d", database, "-c", sql])
    }

    // 1. An interrupted swap leaves the venue without a database.
    @Test func aSwapInterruptedBetweenItsRenamesStillCompletesAndTheReportCarriesTheUndo() async throws {
        let (venue, manifest) = try await backedUp("drill_swap")
        try await cluster.psql(database: venue.database, sql: "DELETE FROM \"Audit Log\"")
        let runTask = Mutex<Task<[VenueOutcome], Never>?>(nil)
        var restore = RestoreOperation(tools: try await tools(), target: .replace, confirmed: true)
        restore.pauseBeforeSwap = {
            runTask.withLock { $0?.cancel() }  // Ctrl-C arrives exactly here
            try? await Task.sleep(for: .milliseconds(200))
        }
        let operation = restore
        let task = Task { await FleetRunner(jobs: 1).run([venue]) { try await operation.run($0) } }
        runTask.withLock { $0 = task }
        let outcome = await task.value[0]
        #expect(outcome.status == .failed)
        #expect(outcome.error?.contains("interrupted after the swap completed") == true, "\(outcome.error ?? "")")
        let restored = try #require(outcome.result(as: RestoreResult.self))
        #expect(restored.undo?.contains("RENAME TO") == true)
        #expect(try await cluster.rowCounts(database: venue.database) == manifest.rowCounts)
        let replaced = try #require(restored.replacedDatabase)
        #expect(try await cluster.psql(database: "postgres", sql: "SELECT count(*) FROM pg_database WHERE datname = '\(replaced)'")
            .trimmingCharacters(in: .whitespacesAndNewlines) == "1")
    }

    // 2. A safe replace rebuilt the database as the connecting user, losing owner, settings, grants.
    @Test func aSafeReplaceKeepsOwnerSettingsCommentGrantsAndConnectionLimit() async throws {
        let (venue, manifest) = try await backedUp("drill_props")
        try await ownedByTheApp(venue.database)
        let before = try await facts(venue.database)
        #expect(before.contains("gwi_app|50|UTF8"))
        let schemaBefore = try await Shell.runInBackground(cluster.binDirectory + "/pg_dump", ["--schema-only", "--create", "-h", cluster.directory,
                                                                                              "-p", String(cluster.port), "-U", "postgres", venue.database])
        _ = try await VenueDumper(tools: try await tools()).backup(venue)  // the tables now belong to gwi_app
        try await cluster.psql(database: venue.database, sql: "DELETE FROM \"Payment\"")
        _ = try await RestoreOperation(tools: try await tools(), backupFile: nil, target: .replace, confirmed: true).run(venue)
        let after = try await facts(venue.database)
        #expect(after == before, "before: \(before) after: \(after)")
        let schemaAfter = try await Shell.runInBackground(cluster.binDirectory + "/pg_dump", ["--schema-only", "--create", "-h", cluster.directory,
                                                                                             "-p", String(cluster.port), "-U", "postgres", venue.database])
        // pg_dump writes a random \restrict key each run; everything else must be the same.
        let stable = { (dump: String) in dump.split(separator: "\n").filter { !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") } }
        #expect(stable(schemaAfter) == stable(schemaBefore))
        #expect(try await cluster.rowCounts(database: venue.database) == manifest.rowCounts)
        // The app's role can still migrate: create a table in public and read its data.
        _ = try await asApp(venue.database, "CREATE TABLE drill_migration (id int)")
        #expect(try await asApp(venue.database, "SELECT count(*) FROM \"Order\"").trimmingCharacters(in: .whitespacesAndNewlines) == "1000")
    }

    // 2b. exec --rollback recovers through the same replace: owner, settings and grants survive it too.
    @Test func aRollbackAfterAFailedMigrationKeepsOwnerSettingsAndGrants() async throws {
        let (venue, _) = try await backedUp("drill_rollback")
        try await ownedByTheApp(venue.database)
        let before = try await facts(venue.database)
        let rows = try await cluster.rowCounts(database: venue.database)
        let migration = #"psql -X -q -v ON_ERROR_STOP=1 "$DIRECT_URL" -c 'DELETE FROM "Payment"' && exit 4"#
        let operation = ExecOperation(command: ["sh", "-c", migration], rollback: true,
                                      logDirectory: try scratchDirectory("drill-rollback-logs"), tools: try await tools())
        let outcome = await FleetRunner(jobs: 1).run([venue]) { try await operation.run($0) }[0]
        let exec = try #require(outcome.result(as: ExecResult.self))
        #expect(outcome.status == .failed && exec.rolledBack == true, "\(outcome.error ?? "")")
        #expect(exec.exitCode == .code(4), "the migration ran (its DELETE succeeded) before it failed")
        #expect(try await cluster.rowCounts(database: venue.database) == rows)
        let after = try await facts(venue.database)
        #expect(after == before, "before: \(before) after: \(after)")
        _ = try await asApp(venue.database, "CREATE TABLE drill_after_rollback (id int)")
    }

    // 3. An in-place restore of a plain backup dropped a table it did not hold and reset public's grants.
    @Test func anInPlacePlainRestoreKeepsWhatTheBackupDoesNotHold() async throws {
        let (venue, _) = try await backedUp("drill_plain", format: .plain)
        try await ownedByTheApp(venue.database)
        let manifest = try await VenueDumper(tools: try await tools()).backup(venue)
        #expect(manifest.dropsFirst == true)
        try await cluster.psql(database: venue.database, sql: "CREATE TABLE \"Extra\" (id int); INSERT INTO \"Extra\" VALUES (1); DELETE FROM \"Audit Log\"")
        let publicBefore = try await cluster.psql(database: venue.database, sql: "SELECT pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace WHERE nspname = 'public'")
        let figures = try await RestoreOperation(tools: try await tools(), target: .inPlace, confirmed: true).run(venue)
        #expect(figures.untouchedTables == ["public.Extra"])
        var expected = manifest.rowCounts
        expected["public.Extra"] = 1
        #expect(try await cluster.rowCounts(database: venue.database) == expected)
        #expect(try await cluster.psql(database: venue.database, sql: "SELECT pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace WHERE nspname = 'public'") == publicBefore)
        _ = try await asApp(venue.database, "CREATE TABLE drill_after_plain (id int)")

        // A plain backup from before DROP statements were written is refused in place, untouched.
        var old = manifest
        old.dropsFirst = nil
        try old.encoded().write(to: URL(fileURLWithPath: BackupManifest.path(forDump: BackupCatalog.directory(of: venue) + "/" + manifest.file)))
        await #expect { _ = try await RestoreOperation(tools: try await tools(), backupFile: BackupCatalog.directory(of: venue) + "/" + manifest.file,
                                                       target: .inPlace, confirmed: true).run(venue) } throws: { "\($0)".contains("nothing was touched") }
    }

    // 4. After a rollback, "latest" was the safety backup of the half-migrated state.
    @Test func latestIsNeverASafetyBackup() async throws {
        let (venue, scheduled) = try await backedUp("drill_purpose")
        _ = try await RestoreOperation(tools: try await tools(), target: .replace, confirmed: true).run(venue)
        let entries = BackupCatalog.entries(of: venue)
        #expect(entries.compactMap { $0.manifest?.effectivePurpose } == [.safety, .scheduled])
        #expect(BackupCatalog.latestRestorePoint(of: venue)?.manifest?.file == scheduled.file)
        // verify's "latest" is the same restore point (it used to test the safety backup).
        let verified = try await VerifyOperation(tools: try await tools()).run(venue)
        #expect(verified.backups.map(\.file) == [BackupCatalog.directory(of: venue) + "/" + scheduled.file])
    }

    // 5. Bit rot was invisible to prune, which deleted the only good backup and kept the corrupt one.
    @Test func pruneRehashesWhatItReliesOnAndKeepsTheGoodBackupInstead() async throws {
        let directory = try scratchDirectory("drill-rot") + "/p"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let now = Date()
        func backup(daysAgo: Double) throws -> String {
            let date = now.addingTimeInterval(-daysAgo * 86_400)
            let file = "gwi_pos_p-\(Timestamp.compact(date)).dump"
            let path = directory + "/" + file
            try Data("dump taken \(daysAgo) days ago".utf8).write(to: URL(fileURLWithPath: path))
            let digest = try DigestTap.digest(ofFile: path)
            try BackupManifest(venue: "p", database: "gwi_pos_p", file: file, format: .custom, bytes: digest.bytes, sha256: digest.sha256,
                               startedAt: date, finishedAt: date, serverVersion: "15", pgDumpVersion: "15", snapshot: "s",
                               rowCounts: [:], tool: "gwi-fleet").encoded().write(to: URL(fileURLWithPath: BackupManifest.path(forDump: path)))
            return path
        }
        let rotten = try backup(daysAgo: 1), good = try backup(daysAgo: 40), oldest = try backup(daysAgo: 50)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: rotten))
        bytes[3] ^= 0x01  // one flipped bit, same size
        try bytes.write(to: URL(fileURLWithPath: rotten))
        var venue = testVenue("p", url: "postgresql://x/{database}", directory: URL(fileURLWithPath: directory).deletingLastPathComponent().path)
        venue.backup.retention = RetentionPolicy(keepDays: 30, keepMin: 1)
        #expect(BackupCatalog.entries(of: venue).first?.state == .complete)  // size alone cannot tell
        _ = try await PruneOperation().run(venue)
        let exists = { FileManager.default.fileExists(atPath: $0) }
        #expect(exists(rotten) && exists(good) && !exists(oldest))
        #expect(BackupCatalog.entries(of: venue).first?.state == .corrupt)
        // And `backups --check` finds what prune did not need to look at.
        let catalog = BackupCatalog(venue: venue)
        var goodBytes = try Data(contentsOf: URL(fileURLWithPath: good))
        goodBytes[0] ^= 0x20
        try goodBytes.write(to: URL(fileURLWithPath: good))
        #expect(try await catalog.recheck().filter { $0.state == .corrupt }.count == 2)
    }

    // 6. A server restart mid-verify recorded a good backup as corrupt.
    @Test func aVerifyCutOffByTheServerLeavesTheBackupsStateAlone() async throws {
        let (venue, _) = try await backedUp("drill_transient", scale: 3)
        // Terminate every session of the scratch database as soon as it appears: a loop in a
        // server backend of its own, so the test's busy threads cannot make it late.
        let killer = Task {
            try? await cluster.psql(database: "postgres", sql: """
                SET application_name = 'drill-transient-killer';
                DO $$ BEGIN LOOP
                  PERFORM pg_stat_clear_snapshot();
                  PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname LIKE 'gwi\\_verify\\_drill\\_transient\\_%';
                  PERFORM pg_sleep(0.002);
                END LOOP; END $$
                """)
        }
        #expect(await waitUntil { (try? await cluster.psql(database: "postgres", sql: "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'drill-transient-killer'"))?
            .trimmingCharacters(in: .whitespacesAndNewlines) == "1" })
        let outcome = await FleetRunner(jobs: 1).run([venue]) { try await VerifyOperation(tools: try await tools()).run($0) }[0]
        _ = try await cluster.psql(database: "postgres", sql: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'drill-transient-killer'")
        _ = await killer.value
        #expect(outcome.status == .failed)
        #expect(outcome.error?.contains("verify could not run") == true, "\(outcome.error ?? "")")
        #expect(BackupCatalog.entries(of: venue).first?.state == .complete)
        // Next time, with the server left alone, it verifies.
        #expect(await FleetRunner(jobs: 1).run([venue]) { try await VerifyOperation(tools: try await tools()).run($0) }[0].status == .ok)
        #expect(BackupCatalog.entries(of: venue).first?.state == .verified)
    }

    // 7. A future-dated manifest won "latest", sweep called it fresh and it took a keep_min slot.
    @Test func aFutureDatedBackupIsNeverLatest() async throws {
        let (venue, real) = try await backedUp("drill_future")
        let directory = BackupCatalog.directory(of: venue)
        let future = Date().addingTimeInterval(400 * 86_400)
        let name = "gwi_pos_drill_future-\(Timestamp.compact(future)).dump"
        try FileManager.default.copyItem(atPath: directory + "/" + real.file, toPath: directory + "/" + name)
        var forged = real
        forged.file = name
        forged.startedAt = future
        forged.finishedAt = future
        try forged.encoded().write(to: URL(fileURLWithPath: directory + "/" + BackupManifest.name(forDump: name)))
        let entries = BackupCatalog.entries(of: venue)
        #expect(entries.first?.fileName == name && entries.first?.inTheFuture == true)
        #expect(BackupCatalog.latestRestorePoint(of: venue)?.manifest?.file == real.file)
        let latest = BackupCatalog.latestRestorePoint(of: venue)
        #expect(PolicyJudge.freshness(of: venue, latest: latest, now: Date()) == .fresh && latest?.manifest?.file == real.file)
    }

    // 8. One venue's verify dropped another's scratch database.
    @Test func scratchNamesMatchTheirVenueExactly() {
        let mine = VerifyOperation.scratchName(for: "big")
        #expect(VerifyOperation.isScratch(mine, of: "big"))
        #expect(!VerifyOperation.isScratch(VerifyOperation.scratchName(for: "big-two"), of: "big"))
        #expect(!VerifyOperation.isScratch("gwi_verify_big_two_20261126101500_beef", of: "big"))
        #expect(VerifyOperation.scratchName(for: String(repeating: "a", count: 50)).utf8.count <= 63)
    }

    // 13. A password fragment quoted back by libpq (as a host name) reached the report.
    @Test func knownSecretsAndTheirFragmentsAreRedacted() {
        let venue = Venue(slug: "s", database: "gwi_pos_s", url: "postgresql://ops:Pa55%40Sec@db/gwi_pos_s?sslpassword=Ssl-Secret-1",
                          backup: BackupPolicy(directory: "/tmp"))
        let redactor = SecretRedactor(venue: venue, environment: [:])
        let text = redactor.redact("could not translate host name \"Sec@127.0.0.1\" (Pa55@Sec, Pa55%40Sec, Ssl-Secret-1)")
        #expect(!text.contains("Pa55") && !text.contains("Sec@") && !text.contains("Ssl-Secret-1"), "\(text)")
    }

    // 15. A week-long timeout broke analyze (statement_timeout out of range).
    @Test func theLongestAllowedTimeoutStillGivesValidServerSettings() async throws {
        try await cluster.createVenue(database: "gwi_pos_drill_week")
        let venue = testVenue("drill_week", directory: try scratchDirectory("week"), timeout: Venue.maximumTimeout)
        let outcome = await FleetRunner(jobs: 1).run([venue]) { try await AnalyzeOperation().run($0) }[0]
        #expect(outcome.status == .ok, "\(outcome.error ?? "")")
        #expect(MaintenanceSession.limits(for: .seconds(Int64(Int32.max))).statement <= Int(Int32.max))
    }

    // 17. A backup blocked by a lock waited the whole timeout and said only "timed out".
    @Test func aBackupBlockedByALockFailsEarlyNamingWhoHoldsIt() async throws {
        try await cluster.createVenue(database: "gwi_pos_drill_lock")
        let venue = testVenue("drill_lock", directory: try scratchDirectory("drill-lock"), timeout: .seconds(8))
        let holder = try await PostgresConnection.connect(ConnectionInfo(parsing: cluster.url(database: "gwi_pos_drill_lock") + "?application_name=drill-holder"))
        try await holder.execute("BEGIN; LOCK TABLE \"MenuItem\" IN ACCESS EXCLUSIVE MODE")
        let operation = BackupOperation(tools: try await tools())
        let outcome = await FleetRunner(jobs: 1).run([venue]) { try await operation.run($0) }[0]
        try await holder.execute("ROLLBACK")
        // The lock's own timeout (half the venue's) ended it, not the deadline: the error names the holder.
        #expect(outcome.status == .failed)
        #expect(outcome.error?.contains("waiting for a lock held by pid") == true && outcome.error?.contains("drill-holder") == true,
                "\(outcome.error ?? "")")
        #expect(BackupCatalog.lastAttempt(of: venue)?.error?.contains("drill-holder") == true)
    }

    // A restore in place blocked by a reader waited for its lock and said only pg_restore's words.
    @Test func anInPlaceRestoreBlockedByALockNamesWhoHoldsItAndChangesNothing() async throws {
        let (backedUpVenue, manifest) = try await backedUp("drill_rlock")
        var venue = backedUpVenue
        venue.timeout = .seconds(8)  // locks may be waited for half of it
        try await cluster.psql(database: venue.database, sql: "DELETE FROM \"Audit Log\"")
        let before = try await cluster.rowCounts(database: venue.database)
        #expect(before != manifest.rowCounts, "the database differs from the backup, so a restore would show")
        let holder = try await PostgresConnection.connect(ConnectionInfo(parsing: cluster.url(database: venue.database) + "?application_name=drill-reader"))
        try await holder.execute("BEGIN; SELECT count(*) FROM \"MenuItem\"")
        let operation = RestoreOperation(tools: try await tools(), target: .inPlace, confirmed: true)
        let outcome = await FleetRunner(jobs: 1).run([venue]) { try await operation.run($0) }[0]
        try await holder.execute("ROLLBACK")
        #expect(outcome.status == .failed)
        // pg_restore cannot be given a lock_timeout (the dump sets it to 0): the watchdog ended the wait.
        #expect(outcome.error?.contains("waited 4s for a lock on \"MenuItem\" held by pid") == true
                && outcome.error?.contains("drill-reader") == true && outcome.error?.contains("nothing was changed") == true,
                "\(outcome.error ?? "")")
        #expect(outcome.error?.contains("the safety backup is") == true)
        #expect(try await cluster.rowCounts(database: venue.database) == before, "one transaction: nothing changed")
    }

    @Test func aTimedOutBackupIsRecordedAsTimedOutNotInterrupted() async throws {
        let listener = try SilentListener()
        let venue = testVenue("drill_silent", url: "postgresql://postgres@127.0.0.1:\(listener.port)/gwi_pos_x",
                              directory: try scratchDirectory("silent"), timeout: .seconds(1))
        let operation = BackupOperation(tools: try await tools())
        let outcome = await FleetRunner(jobs: 1).run([venue]) { try await operation.run($0) }[0]
        #expect(outcome.error?.hasPrefix("timed out after 1s") == true)
        #expect(BackupCatalog.lastAttempt(of: venue)?.error?.hasPrefix("timed out after 1s") == true)
        withExtendedLifetime(listener) {}
    }

    @Test func aBackupDirectoryThatIsAFileSaysSo() async throws {
        let root = try scratchDirectory("dirfile")
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/backups"))
        let venue = testVenue("dirfile", url: "postgresql://x/{database}", directory: root + "/backups")
        let outcome = await FleetRunner(jobs: 1).run([venue]) { try await BackupOperation(tools: try await tools()).run($0) }[0]
        #expect(outcome.error?.contains("it exists and is a file") == true, "\(outcome.error ?? "")")
    }
}

/// The fourth drill (issue 18's refactor, attacked as a hostile operator): one test per defect found.
@Suite struct RefactorDrillTests {
    let cluster = TestCluster.shared

    // H1. A backup of another venue placed in this venue's folder was listed, verified and restored as its own.
    @Test func anotherVenuesBackupInThisVenuesFolderIsForeignAndNeverUsed() async throws {
        try await cluster.createVenue(database: "gwi_pos_drill_own")
        try await cluster.createVenue(database: "gwi_pos_drill_other", scale: 2)
        let root = try scratchDirectory("drill-foreign")
        let own = testVenue("drill_own", directory: root), other = testVenue("drill_other", directory: root)
        let tools = try await PgTools.locate()
        let mine = try await VenueDumper(tools: tools).backup(own)
        let theirs = try await VenueDumper(tools: tools).backup(other)
        // Their dump and manifest copied into my folder, dated newer than mine.
        var forged = theirs
        forged.startedAt = mine.startedAt.addingTimeInterval(60)
        let ownDirectory = BackupCatalog.directory(of: own)
        try FileManager.default.copyItem(atPath: BackupCatalog.directory(of: other) + "/" + theirs.file, toPath: ownDirectory + "/" + theirs.file)
        try forged.encoded().write(to: URL(fileURLWithPath: ownDirectory + "/" + BackupManifest.name(forDump: theirs.file)))

        let entries = BackupCatalog.entries(of: own)
        let foreign = try #require(entries.first { $0.fileName == theirs.file })
        #expect(foreign.state == .incomplete && foreign.reason?.hasPrefix("foreign: the manifest names venue drill_other") == true)
        #expect(entries.latestRestorePoint?.fileName == mine.file)
        let verified = try await VerifyOperation(tools: tools).run(own)
        #expect(verified.backups.map(\.file) == [ownDirectory + "/" + mine.file])
        await #expect { _ = try await RestoreOperation(tools: tools, backupFile: theirs.file, target: .newDatabase("gwi_drill_foreign")).run(own) }
            throws: { "\($0)".contains("foreign") }
        #expect(Retention.plan(entries, retention: RetentionPolicy(keepDays: 0, keepMin: 1), now: Date().addingTimeInterval(86_400 * 2))
            .first { $0.path.hasSuffix(theirs.file) }?.delete == false, "never deleted either: inspect by hand")
    }

    // H2. GWI_NOW set in the future aged every report past reports.keep_days and deleted it.
    @Test func aClockMovedForwardNeverAgesAReport() async throws {
        let directory = try scratchDirectory("drill-clock")
        let report = directory + "/check-20261201T000000Z-0000abcd.json"
        try #"{"run_id": "20261201T000000Z-0000abcd", "command": "check", "started_at": "2026-12-01T00:00:00.000Z"}"#
            .write(toFile: report, atomically: true, encoding: .utf8)
        WallClock.$offset.withValue(400 * 86_400) {
            FleetRun.pruneReports(in: directory, olderThanDays: 90, keeping: nil)
        }
        #expect(FileManager.default.fileExists(atPath: report))
    }

    // L10. A restore's safety backup recorded an ok attempt over a failed night: status and prune forgot the failure.
    @Test func aSafetyBackupLeavesTheNightsAttemptRecordAlone() async throws {
        try await cluster.createVenue(database: "gwi_pos_drill_safety")
        let venue = testVenue("drill_safety", directory: try scratchDirectory("drill-safety"))
        _ = try await VenueDumper(tools: try await PgTools.locate()).backup(venue)
        let failed = AttemptRecord(status: .failed, at: WallClock.now(), error: "pg_dump: connection refused")
        try BackupCatalog.recordAttempt(failed, of: venue)
        _ = try await VenueDumper(tools: try await PgTools.locate()).backup(venue, purpose: .safety)
        #expect(BackupCatalog.lastAttempt(of: venue)?.status == .failed)
    }
}

extension RefactorDrillTests {
    // M1. A signal while the fleet-level part ran (coverage of a hung server) was ignored: the run
    // waited it out and its report said not interrupted.
    @Test func stoppingARunDuringItsConclusionStopsTheConclusion() async throws {
        let directory = try scratchDirectory("drill-conclude")
        let venue = testVenue("conclude", url: "postgresql://x/{database}", directory: directory)
        let fleet = Fleet(path: directory + "/fleet.yaml", venues: [venue], reportsDirectory: directory + "/reports")
        let concluding = Mutex(false)
        let started = ContinuousClock.now
        let run = Task {
            await FleetRun(command: "check", fleet: fleet, venues: [venue], handleSignals: false).run({ _ in nil }, conclude: { _ in
                concluding.withLock { $0 = true }
                try? await Task.sleep(for: .seconds(60))
                return FleetRun.Conclusion(problems: Task.isCancelled ? ["coverage: not checked: interrupted"] : [])
            })
        }
        #expect(await waitUntil(seconds: 20) { concluding.withLock { $0 } })
        run.cancel()
        let (report, _) = await run.value
        #expect(ContinuousClock.now - started < .seconds(30), "the conclusion did not wait out its minute")
        #expect(report.interrupted && report.exitCode == 130)
    }

    // M2. A webhook that accepts and never answers held each try for a minute, not the 10 s documented.
    @Test func aWebhookThatNeverAnswersIsGivenUpOnAtTheTimeoutOfEachTry() async throws {
        let listener = try SilentListener()
        let started = ContinuousClock.now
        let failure = await WebhookClient(timeout: .seconds(1), attempts: 2, firstBackoff: .milliseconds(10))
            .send("http://127.0.0.1:\(listener.port)/hook", json: Data("{}".utf8))
        #expect(ContinuousClock.now - started < .seconds(8))
        #expect(failure == "no answer within 1 s after 2 tries")
        withExtendedLifetime(listener) {}
    }

    // Issue 20.14: a webhook that never answers held the run ~182 s; the tries of one message now
    // share one budget, and a cancelled task (a signal) stops the try in flight at once.
    @Test func aWebhookThatNeverAnswersCostsAtMostItsBudgetAndACancelledSendEndsAtOnce() async throws {
        let listener = try SilentListener()
        let failure = await WebhookClient(timeout: .seconds(1), attempts: 5, firstBackoff: .milliseconds(10), budget: .milliseconds(1_500))
            .send("http://127.0.0.1:\(listener.port)/hook", json: Data("{}".utf8))
        #expect(failure?.hasPrefix("no answer within") == true && failure?.hasSuffix("(the 1.5 s for sending it were used up)") == true, "\(failure ?? "delivered")")
        let client = WebhookClient(timeout: .seconds(60), attempts: 1, budget: .seconds(60))
        let send = Task { await client.send("http://127.0.0.1:\(listener.port)/hook", json: Data("{}".utf8)) }
        try await Task.sleep(for: .milliseconds(200))
        let cancelledAt = ContinuousClock.now
        send.cancel()
        let interrupted = await send.value
        #expect(interrupted?.hasPrefix("not sent: the run was interrupted") == true, "\(interrupted ?? "delivered")")
        #expect(ContinuousClock.now - cancelledAt < .seconds(30), "the try in flight was waited out")
        withExtendedLifetime(listener) {}
    }
}

extension RefactorDrillTests {
    // M3. Schema-2 `check` reports lost their figures when merged or read (renamed size key).
    @Test func aSchemaTwoCheckReadsItsSizeUnderTheOldKey() throws {
        let old = #"{"schema_version": 2, "run_id": "r", "command": "check", "started_at": "2026-11-01T02:00:00.000Z", "finished_at": "2026-11-01T02:00:01.000Z", "venues": [{"slug": "a", "database": "gwi_pos_a", "status": "ok", "duration_ms": 4, "error": null, "summary": "", "server_version": "15.18", "database_size_bytes": 1234, "pg_dump_version": "15.18", "pg_dump_compatible": true}]}"#
        #expect(try RunReport.decode(Data(old.utf8)).outcomes[0].result(as: CheckResult.self)?.databaseBytes == 1234)
    }

    // M4 and M7. A merge took the fleet totals of shard 0 alone, and a merge made again failed ("File exists").
    @Test func aMergeAddsUpEveryShardsTotalsAndCanBeMadeAgain() throws {
        func shard(_ index: Int, bytes: Int, table: (String, Int)) -> RunReport {
            RunReport(runID: "split-run", command: "sizes", fleet: .init(path: "/f.yaml", venuesSHA256: "ab"), startedAt: Date(), finishedAt: Date(),
                      interrupted: false, outcomes: [VenueOutcome(slug: table.0, database: "gwi_pos_" + table.0, status: .ok)],
                      totals: FleetTotals(databaseBytes: bytes, largestTables: [.init(venue: table.0, table: .init(table: "public.Order", totalBytes: table.1,
                                                                                                                   tableBytes: 0, indexBytes: 0, toastBytes: 0))]),
                      shard: .init(index: index, count: 2, allVenues: ["a", "b"]))
        }
        let merged = try #require(ReportMerge.merge([("s0", shard(0, bytes: 100, table: ("a", 10))), ("s1", shard(1, bytes: 250, table: ("b", 20)))]).report)
        #expect(merged.totals.databaseBytes == 350)
        #expect(merged.totals.largestTables?.map(\.venue) == ["b"], "the largest of all shards, as many as each kept")
        let directory = try scratchDirectory("drill-merge")
        let path = try merged.save(in: directory)
        #expect(try merged.save(in: directory) == path, "a merge made again replaces the merged report")
    }
}

extension RefactorDrillTests {
    // M5. A password with an unencoded `@` leaked its second half (libpq reads it as the host).
    @Test func aPasswordWithAnUnencodedAtSignIsRedactedWhole() async throws {
        let venue = testVenue("at_sign", url: "postgresql://ops:LeakOne@SecretTwo@127.0.0.1:1/{database}?connect_timeout=2", directory: "/nonexistent")
        let redactor = SecretRedactor(venue: venue)
        #expect(redactor.redact("could not translate host name \"SecretTwo@127.0.0.1\"; password LeakOne@SecretTwo") == "could not translate host name \"***@127.0.0.1\"; password ***")
        let outcomes = await FleetRunner(jobs: 1).run([venue]) { try await CheckOperation(tools: try await PgTools.locate()).run($0) }
        #expect(outcomes[0].status == .failed && !(outcomes[0].error ?? "").contains("SecretTwo") && !(outcomes[0].error ?? "").contains("LeakOne"))
        let fleet = Fleet(path: "/f.yaml", venues: [venue], reportsDirectory: "/nonexistent/reports")
        let servers = await Coverage(fleet: fleet).check()
        #expect(!servers.map { "\($0.server) \($0.error ?? "")" }.joined().contains("SecretTwo"))
    }
}

extension RefactorDrillTests {
    // M8. exec let a backup or a restore of the same venue run while its command (a migration) ran.
    @Test func nothingElseWorksOnAVenueWhileExecsCommandRuns() async throws {
        try await cluster.createVenue(database: "gwi_pos_drill_exec_lock")
        let venue = testVenue("drill_exec_lock", directory: try scratchDirectory("drill-exec-lock"))
        let marker = "4.\(Int.random(in: 100...999))"
        let exec = ExecOperation(command: ["sleep", marker], logDirectory: try scratchDirectory("drill-exec-lock-logs"), tools: try await PgTools.locate())
        let running = Task { try await exec.run(venue) }
        #expect(await waitUntil(seconds: 30) { !ProcessTable.pids(commandContaining: ["sleep", marker]).isEmpty })
        await #expect { _ = try await VenueDumper(tools: try await PgTools.locate()).backup(venue) } throws: { "\($0)".contains("locked") }
        let result = try await running.value
        #expect(result.exitCode == .code(0) && result.backup != nil)
        _ = try await VenueDumper(tools: try await PgTools.locate()).backup(venue)  // free again
    }
}

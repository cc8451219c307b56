@testable import FleetEngine
import Foundation
import PostgresClient
import Testing
import TestSupport

/// Point-in-time recovery of one venue database with the real pgbackrest, against a server whose
/// WAL it archives (`ArchivedCluster`): what comes back, what is left alone, what is refused, and
/// that the scratch cluster is gone afterwards however the recovery ends.
@Suite(.timeLimit(.minutes(5))) struct PgBackRestRecoveryTests {
    /// Started on first use, so the tests that need no server do not start one.
    var cluster: ArchivedCluster { .shared }

    /// The service for the shared cluster, making its scratch clusters in `parent`.
    func recovery(scratchIn parent: String) throws -> PgBackRestRecovery {
        PgBackRestRecovery(settings: PgBackRestSetup(stanza: cluster.stanza, config: cluster.configPath, scratchDirectory: parent),
                           source: try cluster.connectionInfo(database: "postgres"))
    }

    /// Every process whose command line mentions `text` (the scratch directory): pgbackrest,
    /// pg_ctl, the postmaster, and the shell pg_ctl starts it through.
    func processes(mentioning text: String) -> [pid_t] {
        ProcessTable.pids(commandContaining: [text])
    }

    func waitForProcess(_ needles: [String], timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !ProcessTable.pids(commandContaining: needles).isEmpty { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw Shell.Failure(message: "no process with \(needles) in its command line appeared within \(timeout)")
    }

    // MARK: With the real pgbackrest

    @Test func recoveringOneVenueAtAMomentGivesExactlyItsRowsUpToThatMomentAndLeavesTheSourceAlone() async throws {
        let parent = try scratchDirectory("pitr-moment")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let otherVenueBefore = try await cluster.pgDump(database: "pitr_b")
        let t1 = try await cluster.commit(database: "pitr_a", sql: "INSERT INTO orders VALUES (1, 'first')")
        let t2 = try await cluster.commit(database: "pitr_a", sql: "INSERT INTO orders VALUES (2, 'second')")
        let t3 = try await cluster.commit(database: "pitr_a", sql: "INSERT INTO orders VALUES (3, 'third')")
        _ = try await cluster.commit(database: "pitr_a", sql: "DELETE FROM orders")  // the mistake
        try await cluster.switchWALAndWaitUntilArchived()
        #expect(t1 < t2 && t2 < t3)

        let seen = try await recovery(scratchIn: parent).recover(database: "pitr_a", at: t2) { recovered in
            let connection = try await PostgresConnection.connect(recovered.connectionInfo)
            let rows = try await connection.query("SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM orders").scalar
            // The source's postgresql.conf came with the restore; the overrides won over it.
            let settings = try await connection.query("""
                SELECT current_setting('archive_mode'), current_setting('listen_addresses'), current_setting('port'),
                       pg_is_in_recovery()::text
                """).rows.first
            let dump = try await Shell.runInBackground(cluster.binDirectory + "/pg_dump", [
                "-h", recovered.directory, "-p", String(recovered.port), "-U", recovered.user, "-d", recovered.database,
                "--data-only", "--table=orders",
            ])
            // Only the venue asked for was restored: the other one's files are empty.
            var otherVenue = recovered.connectionInfo
            otherVenue["dbname"] = "pitr_b"
            let otherVenueError = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(otherVenue) }
            return (recovered: recovered, rows: rows, settings: settings, dump: dump, otherVenueError: otherVenueError,
                    running: processes(mentioning: recovered.directory))
        }

        #expect(seen.rows == "1:first,2:second")
        #expect(seen.settings == ["off", "", String(seen.recovered.port), "false"])
        #expect(seen.dump.contains("1\tfirst\n2\tsecond\n\\.") && !seen.dump.contains("third"))
        #expect("\(seen.otherVenueError.map(String.init(describing:)) ?? "")".contains("pg_filenode.map"))
        #expect(seen.recovered.recoveredTo >= t1 && seen.recovered.recoveredTo <= t2)
        #expect(seen.recovered.backupSet == cluster.fullBackupLabel)
        #expect(seen.recovered.directory.hasPrefix(parent + "/gwi-fleet-pitr-pitr_a-"))
        // The scratch cluster ran while the closure did, and is gone now, directory and all.
        #expect(!seen.running.isEmpty)
        #expect(processes(mentioning: seen.recovered.directory).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: seen.recovered.directory))
        #expect(files(in: parent).isEmpty)
        // The source still has the mistake, and the other venue is as it was.
        #expect(try await cluster.psql(database: "pitr_a", sql: "SELECT count(*) FROM orders") == "0\n")
        #expect(try await cluster.pgDump(database: "pitr_b") == otherVenueBefore)
    }

    @Test func theWindowRunsFromTheEndOfTheFullBackupToTheLastArchivedWAL() async throws {
        let before = Date()
        _ = try await cluster.commit(database: "postgres", sql: "SELECT 1")
        try await cluster.switchWALAndWaitUntilArchived()
        let window = try await recovery(scratchIn: "/nonexistent").window()

        let stop = try #require(try cluster.recordedStopTime(ofBackup: cluster.fullBackupLabel))
        #expect(window.stanza == cluster.stanza)
        // pgBackRest keeps the stop to the second and recovers only to the seconds after it.
        #expect(window.earliest == stop + 1)
        let first = try #require(window.backups.first)
        #expect(first.label == cluster.fullBackupLabel && first.type == "full" && first.stoppedAt == stop)
        #expect(stop >= cluster.fullBackupStartedAround.addingTimeInterval(-1) && stop <= cluster.fullBackupFinishedAround)
        let latest = try #require(window.latest)
        #expect(latest >= before && latest <= Date())
        let lag = try #require(window.archiveLagSeconds)
        #expect(lag >= 0 && lag < 60)
        #expect(window.archiver.archiveMode == "on" && !window.archiver.failing)
    }

    @Test func aTargetBeforeTheOldestBackupIsRefusedNamingTheWindow() async throws {
        let parent = try scratchDirectory("pitr-early")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let stop = try #require(try cluster.recordedStopTime(ofBackup: cluster.fullBackupLabel))
        let error = await #expect(throws: PgBackRestRecoveryError.self) {
            try await recovery(scratchIn: parent).recover(database: "pitr_a", at: stop.addingTimeInterval(-60)) { _ in }
        }
        guard case .targetBeforeWindow(_, let window)? = error else {
            Issue.record("expected targetBeforeWindow, got \(String(describing: error))")
            return
        }
        #expect(window.earliest == stop + 1)
        let message = "\(error.map(String.init(describing:)) ?? "")"
        #expect(message.contains("is before the recovery window of stanza `venues` (\(PgBackRest.timeText(stop + 1)) to "))
        #expect(message.contains("pick a later moment"))
        #expect(files(in: parent).isEmpty)
    }

    @Test func aFutureTargetIsRefusedBeforeAnythingRuns() async throws {
        let parent = try scratchDirectory("pitr-future")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        // Nothing listens on the source's port and the stanza does not exist: reaching either would fail otherwise.
        let nowhere = try ConnectionInfo(parsing: "host=127.0.0.1 port=1 dbname=postgres user=postgres connect_timeout=2")
        let recovery = PgBackRestRecovery(settings: PgBackRestSetup(stanza: "no_such_stanza", scratchDirectory: parent), source: nowhere)
        let target = Date().addingTimeInterval(3600)
        let error = await #expect(throws: PgBackRestRecoveryError.self) {
            try await recovery.recover(database: "pitr_a", at: target) { _ in }
        }
        guard case .targetInFuture? = error else {
            Issue.record("expected targetInFuture, got \(String(describing: error))")
            return
        }
        let message = "\(error.map(String.init(describing:)) ?? "")"
        #expect(message.hasPrefix("target \(PgBackRest.timeText(target)) is in the future") && message.contains("nothing was started"))
        #expect(files(in: parent).isEmpty)
    }

    @Test func aDatabaseCreatedAfterTheBackupIsRefusedAndLeavesNothingBehind() async throws {
        let parent = try scratchDirectory("pitr-late")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE IF EXISTS pitr_late")
        try await cluster.psql(database: "postgres", sql: "CREATE DATABASE pitr_late")
        let target = try await cluster.commit(database: "pitr_late", sql: "CREATE TABLE orders (id int)")
        try await cluster.switchWALAndWaitUntilArchived()
        let error = await #expect(throws: PgBackRestRecoveryError.self) {
            try await recovery(scratchIn: parent).recover(database: "pitr_late", at: target) { _ in }
        }
        guard case .databaseNotInBackup(let database, _, let message)? = error else {
            Issue.record("expected databaseNotInBackup, got \(String(describing: error))")
            return
        }
        #expect(database == "pitr_late" && message.contains("[080]"))
        #expect("\(error.map(String.init(describing:)) ?? "")".contains("take a new full backup"))
        #expect(processes(mentioning: parent + "/").isEmpty)
        #expect(files(in: parent).isEmpty)
    }

    @Test func aRecoveryThatRunsOutOfArchivedWALFailsWithTheServersFatalLineAndLeavesNothingBehind() async throws {
        // A cluster of its own: no other test may commit between this one's commit and its archive.
        let quiet = try await ArchivedCluster.start(databases: ["pitr_quiet"])
        defer { quiet.remove() }
        let parent = try scratchDirectory("pitr-short")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let committed = try await quiet.commit(database: "pitr_quiet", sql: "INSERT INTO orders VALUES (1, 'only')")
        try await quiet.switchWALAndWaitUntilArchived(heartbeat: false)
        // Inside the window (before the last archive), but no commit after it was ever archived.
        let target = committed + 0.001
        let recovery = PgBackRestRecovery(
            settings: PgBackRestSetup(stanza: quiet.stanza, config: quiet.configPath, scratchDirectory: parent),
            source: try quiet.connectionInfo(database: "postgres"))
        let error = await #expect(throws: PgBackRestRecoveryError.self) {
            try await recovery.recover(database: "pitr_quiet", at: target) { _ in }
        }
        guard case .targetNotReached(_, let fatal)? = error else {
            Issue.record("expected targetNotReached, got \(String(describing: error))")
            return
        }
        #expect(fatal.contains("FATAL:  recovery ended before configured recovery target was reached"))
        #expect("\(error.map(String.init(describing:)) ?? "")".contains("run SELECT pg_switch_wal() on the source"))
        #expect(processes(mentioning: parent + "/").isEmpty)
        #expect(files(in: parent).isEmpty)
    }

    /// Where the task is cancelled: while pgbackrest restores, while the scratch server starts and
    /// replays WAL, and while the caller's closure has the recovered database.
    enum CancelPoint: String, CaseIterable, Sendable {
        case restoring, recovering, handedOver
    }

    @Test(arguments: CancelPoint.allCases)
    func cancellingStopsTheScratchClusterAndRemovesItsDirectory(at point: CancelPoint) async throws {
        let parent = try scratchDirectory("pitr-cancel-\(point.rawValue)")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let id = CancelPoint.allCases.firstIndex(of: point)! + 1
        let target = try await cluster.commit(database: "pitr_c", sql: "INSERT INTO orders VALUES (\(id), '\(point.rawValue)')")
        try await cluster.switchWALAndWaitUntilArchived()
        let recovery = try recovery(scratchIn: parent)
        let prefix = parent + "/gwi-fleet-pitr-pitr_c-"
        let (handedOver, handOver) = AsyncStream.makeStream(of: String.self)
        let task = Task {
            try await recovery.recover(database: "pitr_c", at: target) { recovered in
                handOver.yield(recovered.directory)
                try await Task.sleep(for: .seconds(600))
            }
        }
        // Cancel when the point is reached, or stop waiting if the recovery ends first.
        let reached = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                switch point {
                // No bound of its own: the other task ends the wait if the recovery ends first
                // (under load, a minute was seen to pass before the postmaster started).
                case .restoring: (try? await waitForProcess(["restore", "--pg1-path=\(prefix)"], timeout: .seconds(900))) != nil
                case .recovering: (try? await waitForProcess(["bin/postgres", prefix], timeout: .seconds(900))) != nil
                case .handedOver: await handedOver.first { _ in true } != nil
                }
            }
            group.addTask {
                _ = await task.result
                return false
            }
            let first = await group.next() ?? false
            task.cancel()
            group.cancelAll()
            return first
        }
        let result = await task.result
        #expect(reached, "the recovery ended before it was \(point.rawValue): \(result)")
        guard case .failure(let error) = result else {
            Issue.record("the recovery finished although it was cancelled")
            return
        }
        #expect(error is CancellationError)
        #expect(processes(mentioning: prefix).isEmpty)
        #expect(files(in: parent).isEmpty)
    }

    // MARK: Without a server

    @Test func targetsAreWrittenInUTCToTheMicrosecondWithPlus00() {
        #expect(PgBackRest.timeText(Date(timeIntervalSince1970: 1_796_180_796.938954)) == "2026-12-02 03:06:36.938954+00")
        #expect(PgBackRest.timeText(Date(timeIntervalSince1970: 1_796_180_796)) == "2026-12-02 03:06:36.000000+00")
        // Never rounded up past the moment: a commit in that sliver would be recovered.
        #expect(PgBackRest.timeText(RestoreOperation.parseMoment("2026-12-02T03:06:36.9999996Z")!) == "2026-12-02 03:06:36.999999+00")
        #expect(PgBackRest.timeText(RestoreOperation.parseMoment("2026-12-02T14:30:42.384318Z")!) == "2026-12-02 14:30:42.384318+00")
        #expect(PgBackRest.timeText(RestoreOperation.parseMoment("2026-12-02T03:06:36.3039756Z")!) == "2026-12-02 03:06:36.303975+00")
        #expect(PgBackRest.timeText(RestoreOperation.parseMoment("2026-12-02T03:06:36.303976Z")!) == "2026-12-02 03:06:36.303976+00")
        #expect(NeonAPI.timestamp(RestoreOperation.parseMoment("2026-12-02T03:06:36.3039756Z")!) == "2026-12-02T03:06:36.303975Z")
        #expect(NeonAPI.timestamp(RestoreOperation.parseMoment("2026-12-02T03:06:36Z")!) == "2026-12-02T03:06:36Z")
    }

    @Test func scratchDirectoriesAreNamedSoLeftoversCanFindAndAgeThem() {
        let name = ScratchCluster.name(for: "airport terminal/2", at: Date(timeIntervalSince1970: 1_796_180_796.5))
        #expect(name.range(of: #"^gwi-fleet-pitr-airport_terminal_2-20261202T030636Z-[0-9a-f]{4}$"#, options: .regularExpression) != nil)
    }

    @Test func theWindowRefusesWhatItCannotRecoverAndSaysWhatToDo() throws {
        let backupEnd = Date(timeIntervalSince1970: 1_796_176_800)
        let backups = [RecoveryWindow.Backup(label: "20261202-015940F", type: "full", startedAt: backupEnd - 20, stoppedAt: backupEnd)]
        let archiver = RecoveryWindow.Archiver(archiveMode: "on", lastArchivedAt: backupEnd + 600, checkedAt: backupEnd + 660)
        let window = RecoveryWindow(stanza: "venues", backups: backups, archiver: archiver)
        let now = backupEnd + 700
        #expect(window.earliest == backupEnd + 1 && window.latest == backupEnd + 600 && window.archiveLagSeconds == 60)

        #expect(window.refusal(for: backupEnd + 1, now: now) == nil)
        #expect(window.refusal(for: backupEnd + 600, now: now) == nil)
        guard case .targetBeforeWindow? = window.refusal(for: backupEnd + 0.999, now: now) else { Issue.record("before"); return }
        let late = try #require(window.refusal(for: backupEnd + 601, now: now))
        guard case .targetAfterArchive = late else { Issue.record("after"); return }
        #expect("\(late)".contains("not in the repository yet") && "\(late)".contains("pg_switch_wal()") && !"\(late)".contains("failing"))
        guard case .targetInFuture? = window.refusal(for: now + 1, now: now) else { Issue.record("future"); return }

        var failing = archiver
        failing.lastFailedAt = backupEnd + 650
        let stuck = try #require(RecoveryWindow(stanza: "venues", backups: backups, archiver: failing).refusal(for: backupEnd + 690, now: now))
        #expect("\(stuck)".contains("archiving is failing on the source"))
        var off = archiver
        off.archiveMode = "off"
        guard case .archivingOff? = RecoveryWindow(stanza: "venues", backups: backups, archiver: off).refusal(for: backupEnd + 1, now: now) else {
            Issue.record("archiving off"); return
        }
        guard case .noBackups? = RecoveryWindow(stanza: "venues", backups: [], archiver: archiver).refusal(for: backupEnd + 1, now: now) else {
            Issue.record("no backups"); return
        }
    }

    @Test func aDeadScratchServerIsDescribedByItsFatalLine() {
        let log = """
            2026-12-02 03:07:01.100 UTC [100] LOG:  starting PostgreSQL 15.18 on x86_64-pc-linux-gnu
            2026-12-02 03:07:01.500 UTC [101] LOG:  redo done at 0/5000100
            2026-12-02 03:07:01.501 UTC [101] FATAL:  recovery ended before configured recovery target was reached
            2026-12-02 03:07:01.502 UTC [100] LOG:  startup process (PID 101) exited with exit code 1

            """
        #expect(ScratchCluster.lastWords(ofLog: log)
                == "2026-12-02 03:07:01.501 UTC [101] FATAL:  recovery ended before configured recovery target was reached")
        #expect(ScratchCluster.lastWords(ofLog: "one\ntwo\nthree\nfour\n") == "two; three; four")
        #expect(PgBackRest.backupSet(inRestoreOutput: "P00   INFO: repo1: restore backup set 20261202-030630F, recovery will start at 2026-12-02 03:06:30\n")
                == "20261202-030630F")
    }
}

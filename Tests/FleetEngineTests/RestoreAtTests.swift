@testable import FleetEngine
import FleetModel
import Foundation
import PostgresClient
import Testing
import TestSupport

/// `restore --at` through pgBackRest with the real tools: the venue's database as it was at a
/// moment, restored the existing ways, the server's other databases untouched.
@Suite(.timeLimit(.minutes(5))) struct RestoreAtTests {
    var cluster: ArchivedCluster { .shared }

    func venue(root: String) -> Venue {
        var venue = Venue(slug: "pitr-d", database: "pitr_d",
                          url: "host=\(cluster.directory) port=\(cluster.port) user=postgres dbname=pitr_d",
                          timeout: .seconds(240), backup: BackupPolicy(directory: root + "/backups"))
        venue.pitr = .pgbackrest(PgBackRestSettings(stanza: cluster.stanza, config: cluster.configPath, scratchDirectory: root))
        return venue
    }

    func rows(_ database: String) async throws -> String {
        try await cluster.psql(database: database, sql: "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM orders")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aVenueComesBackAsItWasAtAMomentAsACopyAndInPlace() async throws {
        let root = try scratchDirectory("restore-at")
        let venue = venue(root: root)
        let tools = try await PgTools.locate()
        // Another venue of the server is busy and vacuumed after the backup: its WAL touches pages
        // the one-database recovery leaves zeroed. (The drill's PANIC "WAL contains references to
        // invalid pages" came from an autovacuum on a real server; this does not reproduce it.)
        _ = try await cluster.psql(database: "pitr_busy", sql: "DELETE FROM orders WHERE id % 3 = 0")
        _ = try await cluster.psql(database: "pitr_busy", sql: "VACUUM orders")
        let otherVenueBefore = try await cluster.pgDump(database: "pitr_b")
        let t1 = try await cluster.commit(database: "pitr_d", sql: "INSERT INTO orders VALUES (1, 'one')")
        let t2 = try await cluster.commit(database: "pitr_d", sql: "INSERT INTO orders VALUES (2, 'two')")
        _ = try await cluster.commit(database: "pitr_d", sql: "INSERT INTO orders VALUES (3, 'three')")
        _ = try await cluster.commit(database: "pitr_d", sql: "DELETE FROM orders")  // the mistake at 14:32
        try await cluster.switchWALAndWaitUntilArchived()

        // The plan, touching nothing.
        var dry = RestoreOperation(tools: tools, target: .newDatabase("pitr_d_at_t2"))
        (dry.at, dry.dryRun) = (t2, true)
        let plan = try await dry.run(venue)
        #expect(plan.summary.contains("would recover pitr_d at \(Timestamp.iso8601(t2)) through pgbackrest from backup set \(cluster.fullBackupLabel)"),
                "\(plan.summary)")
        #expect(try await cluster.psql(database: "postgres", sql: "SELECT count(*) FROM pg_database WHERE datname = 'pitr_d_at_t2'") == "0\n")
        #expect(files(in: root + "/backups/pitr-d").filter { !$0.hasPrefix(".") }.isEmpty)

        // A copy as at T2: exactly the rows committed up to then.
        var copy = RestoreOperation(tools: tools, target: .newDatabase("pitr_d_at_t2"))
        copy.at = t2
        let restored = try await copy.run(venue)
        #expect(try await rows("pitr_d_at_t2") == "1,2")
        let pitr = try #require(restored.pitr)
        #expect(pitr.target == t2 && pitr.recoveredTo >= t1 && pitr.recoveredTo <= t2 && pitr.baseBackup == cluster.fullBackupLabel)
        #expect(restored.summary.hasPrefix("as at \(Timestamp.iso8601(t2))"))
        // The dump of that moment is in the catalog as a `pitr` backup, never a restore point.
        let entries = BackupCatalog.entries(of: venue)
        let dump = try #require(entries.first { $0.manifest?.effectivePurpose == .pitr })
        #expect(dump.manifest?.rowCounts["public.orders"] == 2 && dump.manifest?.pitr?.baseBackup == pitr.baseBackup)
        #expect(dump.manifest?.pitr.map { Timestamp.iso8601($0.recoveredTo) } == Timestamp.iso8601(pitr.recoveredTo))
        #expect(entries.latestRestorePoint == nil)
        #expect(BackupCatalog(venue: venue).lastAttempt() == nil, "a point-in-time dump is no night's backup attempt")

        // In place, over the live database: the mistake undone, a safety backup of it taken first.
        var inPlace = RestoreOperation(tools: tools, target: .inPlace, confirmed: true)
        inPlace.at = t2
        let undone = try await inPlace.run(venue)
        #expect(try await rows("pitr_d") == "1,2")
        #expect(undone.safetyBackup != nil && undone.pitr?.target == t2)

        // Replacing the database (the default): back to T1 this time, the old one kept beside it.
        var replace = RestoreOperation(tools: tools, target: .replace, confirmed: true)
        replace.at = t1
        let replaced = try await replace.run(venue)
        #expect(try await rows("pitr_d") == "1")
        let kept = try #require(replaced.replacedDatabase)
        #expect(try await rows(kept) == "1,2" && replaced.safetyBackup != nil && replaced.pitr?.target == t1)
        _ = try await cluster.psql(database: "postgres", sql: "DROP DATABASE \"\(kept)\"")

        // The server's other databases, and the scratch clusters: untouched, and gone.
        #expect(try await cluster.pgDump(database: "pitr_b") == otherVenueBefore)
        #expect(files(in: root).filter { $0.hasPrefix("gwi-fleet-pitr-") }.isEmpty)
        #expect(ProcessTable.pids(commandContaining: [root + "/gwi-fleet-pitr-"]).isEmpty)
        _ = try await cluster.psql(database: "postgres", sql: "DROP DATABASE pitr_d_at_t2")
    }

    @Test func aMomentIsRefusedBeforeAnythingIsTouchedWhenItCannotBeRecovered() async throws {
        let root = try scratchDirectory("restore-at-refused")
        var venue = venue(root: root)
        let tools = try await PgTools.locate()
        var early = RestoreOperation(tools: tools, target: .newDatabase("pitr_d_never"))
        early.at = cluster.fullBackupStartedAround.addingTimeInterval(-3600)
        await #expect { _ = try await early.run(venue) } throws: { "\($0)".contains("before") }
        venue.pitr = nil
        var none = RestoreOperation(tools: tools, target: .newDatabase("pitr_d_never"))
        none.at = Date().addingTimeInterval(-60)
        await #expect { _ = try await none.run(venue) } throws: { "\($0)".contains("has no `pitr:` settings") }
        #expect(try await cluster.psql(database: "postgres", sql: "SELECT count(*) FROM pg_database WHERE datname = 'pitr_d_never'") == "0\n")
        #expect(files(in: root).filter { $0.hasPrefix("gwi-fleet-pitr-") }.isEmpty)

        // What the target itself refuses is refused before a recovery is made for nothing.
        var busy = self.venue(root: root)
        (busy.slug, busy.database) = ("pitr-busy", "pitr_busy")
        var unconfirmed = RestoreOperation(tools: tools, target: .replace)
        unconfirmed.at = Date().addingTimeInterval(-1)
        await #expect { _ = try await unconfirmed.run(busy) } throws: { "\($0)".contains("holds") && "\($0)".contains("pass --yes") }
        var taken = RestoreOperation(tools: tools, target: .newDatabase("pitr_b"))
        taken.at = Date().addingTimeInterval(-1)
        await #expect { _ = try await taken.run(busy) } throws: { "\($0)".contains("database pitr_b already exists") }
        #expect(files(in: root).filter { $0.hasPrefix("gwi-fleet-pitr-") }.isEmpty)
        #expect(files(in: root + "/backups/pitr-busy").filter { !$0.hasPrefix(".") }.isEmpty, "no pitr dump was taken")
    }

    @Test(arguments: [("2026-12-01T14:32:05Z", 1_796_135_525.0), ("2026-12-01 14:32:05+02:00", 1_796_128_325.0),
                      ("2026-12-01T14:32:05.250+0200", 1_796_128_325.25), ("2026-12-01 14:32:05 -05", 1_796_153_525.0),
                      ("2026-12-01t14:32:05z", 1_796_135_525.0), ("2026-12-01T14:32:05.9999999999Z", 1_796_135_525.999999)])
    func momentsAreRFC3339WithTheirZone(text: String, seconds: Double) {
        #expect(RestoreOperation.parseMoment(text)?.timeIntervalSince1970 == seconds)
    }

    @Test(arguments: ["2026-12-01 14:32:05", "2026-12-01T14:32Z", "yesterday", "2026-13-01T00:00:00Z", "", "2026-02-30T04:43:33Z",
                      "2026-12-01T24:00:00Z", "2026-12-01T14:32:60Z"])
    func momentsWithoutAZoneOrMalformedAreRefused(text: String) {
        #expect(RestoreOperation.parseMoment(text) == nil)
    }
}

extension RestoreAtTests {
    @Test func checkRunsPgBackRestCheckOncePerStanzaAndNamesTheVenuesOfOneThatFails() async throws {
        let root = try scratchDirectory("archive-check")
        var second = venue(root: root)
        (second.slug, second.database) = ("pitr-b", "pitr_b")
        let good = await ArchiveCheck(venues: [venue(root: root), second]).conclusion()
        #expect(good.problems.isEmpty, "\(good.problems)")
        #expect(good.totals.archives == [ArchiveCheck.Stanza(stanza: cluster.stanza, config: cluster.configPath,
                                                             venues: ["pitr-d", "pitr-b"], ok: true)], "one check for the two venues of one stanza")
        // Then each venue's window, as status reads it: what the metrics and compliance are made of.
        let windows = try #require(good.totals.pitr)
        #expect(Set(windows.keys) == ["pitr-d", "pitr-b"] && windows["pitr-d"] == windows["pitr-b"], "\(windows)")
        #expect(windows["pitr-d"]?.error == nil && windows["pitr-d"]?.latest != nil && windows["pitr-d"]?.checkedAt != nil, "\(windows)")
        var wrong = venue(root: root)
        wrong.pitr = .pgbackrest(PgBackRestSettings(stanza: "no_such_stanza", config: cluster.configPath))
        let bad = await ArchiveCheck(venues: [wrong]).conclusion()
        #expect(bad.problems.count == 1 && bad.problems[0].hasPrefix("pgbackrest check of stanza no_such_stanza failed (venues pitr-d)"), "\(bad.problems)")
        #expect(bad.totals.archives?.first?.ok == false)
        #expect(bad.totals.pitr?["pitr-d"]?.error != nil && bad.totals.pitr?["pitr-d"]?.latest == nil, "\(String(describing: bad.totals.pitr))")
    }
}

extension RestoreAtTests {
    @Test func statusShowsTheRecoveryWindowAndAFailingArchiveBreaksThePolicy() async throws {
        // A cluster of its own: its archive_command is broken on purpose.
        let own = try await ArchivedCluster.start(databases: ["pitr_status"])
        defer { own.remove() }
        let root = try scratchDirectory("pitr-status")
        var venue = Venue(slug: "pitr-status", database: "pitr_status",
                          url: "host=\(own.directory) port=\(own.port) user=postgres dbname=pitr_status", backup: BackupPolicy(directory: root + "/backups"))
        venue.pitr = .pgbackrest(PgBackRestSettings(stanza: own.stanza, config: own.configPath, scratchDirectory: root))
        let fleet = Fleet(path: root + "/fleet.yaml", venues: [venue], reportsDirectory: root + "/reports")
        try await own.switchWALAndWaitUntilArchived()

        let healthy = try #require(await FleetStatus(fleet: fleet).rows([venue]).first)
        let window = try #require(healthy.pitr)
        let stop = try #require(try own.recordedStopTime(ofBackup: own.fullBackupLabel))
        #expect(window.provider == "pgbackrest" && window.earliest == stop.addingTimeInterval(1), "\(window)")
        #expect((window.archiveLagSeconds ?? 999) < 60 && window.error == nil)
        #expect(!healthy.reasons.contains { $0.contains("WAL") }, "\(healthy.reasons)")

        // archive_command starts failing: within one status, the venue breaks the policy for it.
        _ = try await own.psql(database: "postgres", sql: "ALTER SYSTEM SET archive_command = 'false'")
        _ = try await own.psql(database: "postgres", sql: "SELECT pg_reload_conf()")
        _ = try await own.commit(database: "pitr_status", sql: "INSERT INTO orders VALUES (1, 'x')")
        _ = try await own.psql(database: "postgres", sql: "SELECT pg_switch_wal()")
        #expect(try await waitUntil(seconds: 60) {
            try await own.psql(database: "postgres", sql: "SELECT failed_count > 0 FROM pg_stat_archiver") == "t\n"
        })
        let failing = try #require(await FleetStatus(fleet: fleet).rows([venue]).first)
        #expect(failing.reasons.contains { $0.hasPrefix("WAL archiving is failing") }, "\(failing.reasons)")
        #expect(failing.pitr?.lastArchiveFailure != nil)
        let json = JSONCoding.text(FleetStatus.RowJSON(failing))
        #expect(json.contains("\"pitr\": {") && json.contains("\"last_archive_failure\""))
    }
}

extension RestoreAtTests {
    @Test func leftoversFindsOldScratchClustersByNameAndRemovesOnlyThose() async throws {
        let parent = try scratchDirectory("pitr-leftovers")
        var venue = Venue(slug: "gone", database: "gwi_pos_gone", url: "postgresql://127.0.0.1:1/gwi_pos_gone?connect_timeout=1",
                          timeout: .seconds(5), backup: BackupPolicy(directory: parent + "/backups"))
        venue.pitr = .pgbackrest(PgBackRestSettings(stanza: "venues", scratchDirectory: parent))
        let old = parent + "/gwi-fleet-pitr-gone-20200101T000000Z-abcd"
        let young = parent + "/gwi-fleet-pitr-gone-\(Timestamp.compact(Date()))-beef"
        for directory in [old, young, parent + "/unrelated"] {
            try FileManager.default.createDirectory(atPath: directory + "/base", withIntermediateDirectories: true)
        }
        let operation = LeftoversOperation(fleet: Fleet(path: parent + "/fleet.yaml", venues: [venue], reportsDirectory: parent + "/reports"))
        let (decisions, _) = await operation.plan(olderThan: .seconds(7 * 86_400))
        let scratch = decisions.filter { $0.database.kind == "pitr-scratch" }
        #expect(scratch.map(\.database.name) == [old, young])
        #expect(scratch.map(\.drop) == [true, false])
        // While a run holds the venue's lock (a restore --at still recovering), nothing of it is removed.
        let held = try await VenueLock.acquire(directory: try BackupCatalog.prepareDirectory(of: venue))
        let refused = await operation.drop(decisions)
        #expect(refused.first { $0.database.name == old }?.error?.hasPrefix("in use: a run holds gone's lock") == true)
        #expect(FileManager.default.fileExists(atPath: old))
        withExtendedLifetime(held) {}
        _ = consume held
        let dropped = await operation.drop(decisions)
        #expect(dropped.filter { $0.database.kind == "pitr-scratch" }.allSatisfy { $0.error == nil })
        #expect(!FileManager.default.fileExists(atPath: old))
        #expect(FileManager.default.fileExists(atPath: young) && FileManager.default.fileExists(atPath: parent + "/unrelated"))
    }
}

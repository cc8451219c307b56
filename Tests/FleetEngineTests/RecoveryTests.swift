@testable import FleetEngine
import FleetModel
import Foundation
import PostgresClient
import Testing
import TestSupport

@Suite struct RecoveryTests {
    let cluster = TestCluster.shared

    func tools() async throws -> PgTools { try await PgTools.locate() }

    /// A seeded venue and one backup of it.
    func backedUpVenue(_ slug: String, format: BackupFormat = .custom,
                       compression: BackupCompression = .default) async throws -> (Venue, BackupManifest, String) {
        try await cluster.createVenue(database: "gwi_pos_\(slug)")
        var venue = testVenue(slug, directory: try scratchDirectory(slug), format: format)
        venue.backup.compression = compression
        let manifest = try await VenueDumper(tools: try await tools()).backup(venue)
        return (venue, manifest, BackupCatalog.directory(of: venue) + "/" + manifest.file)
    }

    func databases(like pattern: String) async throws -> [String] {
        try await cluster.psql(database: "postgres", sql: "SELECT datname FROM pg_database WHERE datname LIKE '\(pattern)' ORDER BY 1")
            .split(separator: "\n").map(String.init)
    }

    /// Rewrites a dump and makes its manifest agree, as a faulty pg_dump with a correct checksum would.
    func rewrite(_ path: String, _ change: (String) -> String) throws {
        let text = change(try String(contentsOfFile: path, encoding: .utf8))
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let manifestPath = BackupManifest.path(forDump: path)
        var manifest = try BackupManifest.decode(Data(contentsOf: URL(fileURLWithPath: manifestPath)))
        let digest = try DigestTap.digest(ofFile: path)
        (manifest.bytes, manifest.sha256, manifest.md5, manifest.dumpSHA256) = (digest.bytes, digest.sha256, digest.md5, digest.sha256)
        try manifest.encoded().write(to: URL(fileURLWithPath: manifestPath))
    }

    // Drill: a restore killed with -9 left the whole decrypted dump in $TMPDIR. The checked dump
    // is unlinked as soon as it is made: only this process's descriptor holds it.
    @Test func theCheckedDumpIsNeverAFileOnDiskButReadsWhole() async throws {
        let (_, manifest, path) = try await backedUpVenue("checked_unlinked", format: .plain)
        let dump = try await CheckedDump.decode(path, manifest: manifest, encryption: nil)
        #expect(dump.path.hasPrefix("/proc/\(getpid())/fd/"))
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: dump.path)
        #expect(link.hasSuffix("(deleted)"), "\(link)")
        let digest = try await DigestTap.file(dump.path)
        #expect(digest.sha256 == manifest.dumpSHA256)
        // Read twice, from the start each time (pg_restore --list, then the restore).
        #expect(try await DigestTap.file(dump.path).sha256 == manifest.dumpSHA256)
    }

    @Test(arguments: [BackupFormat.custom, .plain])
    func verifyRestoresEveryTableAndRecordsItBesideTheBackup(format: BackupFormat) async throws {
        let (venue, manifest, path) = try await backedUpVenue("rt_\(format.rawValue)", format: format)
        let figures = try await VerifyOperation(tools: try await tools()).run(venue)
        #expect(figures.summary.contains("checksum ok, restore ok, 6/6 tables matched"))
        let record = try #require(BackupCatalog.verification(forDump: path))
        #expect(record.ok && record.checksumOK && record.restoreOK)
        #expect(record.tablesMatched == manifest.rowCounts.count && record.mismatches.isEmpty)
        #expect(record.sha256 == manifest.sha256)
        #expect(BackupCatalog.entries(of: venue).first?.state == .verified)
        // The scratch database is gone.
        #expect(try await databases(like: "gwi\\_verify\\_rt\\_\(format.rawValue)\\_%").isEmpty)
    }

    @Test func aChangedByteIsCorruptForVerifyAndRefusedByRestore() async throws {
        let (venue, _, path) = try await backedUpVenue("flip")
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[data.count / 2] ^= 0x01
        try data.write(to: URL(fileURLWithPath: path))

        await #expect {
            try await VerifyOperation(tools: try await tools()).run(venue)
        } throws: { "\($0)".contains("checksum mismatch") }
        let entry = try #require(BackupCatalog.entries(of: venue).first)
        #expect(entry.state == .corrupt)
        #expect(entry.reason?.contains("checksum mismatch") == true)

        await #expect {
            try await RestoreOperation(tools: try await tools(), backupFile: path, target: .newDatabase("gwi_flip_copy")).run(venue)
        } throws: { "\($0)".contains("checksum mismatch") && "\($0)".contains("nothing was touched") }
        #expect(try await databases(like: "gwi_flip_copy").isEmpty)
    }

    @Test func aTruncatedDumpIsCorruptBySizeAlone() async throws {
        let (venue, manifest, path) = try await backedUpVenue("trunc")
        #expect(truncate(path, off_t(manifest.bytes / 2)) == 0)
        let entry = try #require(BackupCatalog.entries(of: venue).first)
        #expect(entry.state == .corrupt)
        #expect(entry.reason == "file has \(manifest.bytes / 2) bytes, manifest says \(manifest.bytes)")
        await #expect(throws: FleetEngineError.self) {
            try await RestoreOperation(tools: try await tools(), target: .newDatabase("gwi_trunc_copy")).run(venue)
        }
        #expect(try await databases(like: "gwi_trunc_copy").isEmpty)
    }

    @Test func aDeletedRowIsReportedTableByTable() async throws {
        let (venue, manifest, path) = try await backedUpVenue("rowgone", format: .plain, compression: .none)
        // Drop the first data row of "Audit Log" from the dump (and make the checksum agree).
        try rewrite(path) { text in
            var lines = text.components(separatedBy: "\n")
            let copy = lines.firstIndex { $0.hasPrefix("COPY public.\"Audit Log\" ") }!
            lines.remove(at: copy + 1)
            return lines.joined(separator: "\n")
        }
        await #expect {
            try await VerifyOperation(tools: try await tools()).run(venue)
        } throws: { error in
            let rows = manifest.rowCounts["public.Audit Log"]!
            return "\(error)".contains("public.Audit Log expected \(rows), got \(rows - 1)") && "\(error)".contains("5/6 tables matched")
        }
        let record = try #require(BackupCatalog.verification(forDump: path))
        #expect(record.mismatches == [.init(table: "public.Audit Log", expected: manifest.rowCounts["public.Audit Log"],
                                            actual: manifest.rowCounts["public.Audit Log"]! - 1)])
        #expect(BackupCatalog.entries(of: venue).first?.state == .corrupt)
    }

    @Test func aScratchDatabaseLeftByAKilledRunIsDroppedByTheNextVerify() async throws {
        let (venue, _, _) = try await backedUpVenue("leftover")
        try await cluster.createDatabase("gwi_verify_leftover_20261120101500_beef")
        // Another venue's scratch database whose name starts the same way is not this venue's to drop.
        try await cluster.createDatabase("gwi_verify_leftover_two_20261120101500_beef")
        _ = try await VerifyOperation(tools: try await tools()).run(venue)
        #expect(try await databases(like: "gwi\\_verify\\_leftover\\_%") == ["gwi_verify_leftover_two_20261120101500_beef"])
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE gwi_verify_leftover_two_20261120101500_beef")
    }

    @Test func restoreReplacingAVenueKeepsTheOldDatabaseAndTakesASafetyBackup() async throws {
        let (venue, manifest, _) = try await backedUpVenue("swap")
        try await cluster.psql(database: "gwi_pos_swap", sql: "DELETE FROM \"Audit Log\"")

        await #expect {
            try await RestoreOperation(tools: try await tools()).run(venue)
        } throws: { "\($0)".contains("pass --yes") }

        let figures = try await RestoreOperation(tools: try await tools(), confirmed: true).run(venue)
        #expect(try await cluster.rowCounts(database: "gwi_pos_swap") == manifest.rowCounts)
        let replaced = try #require(figures.replacedDatabase)
        #expect(replaced.hasPrefix("gwi_pos_swap__replaced_"))
        #expect(try await cluster.rowCounts(database: replaced)["public.Audit Log"] == 0)
        #expect(figures.undo?.contains("RENAME TO \"gwi_pos_swap\"") == true)
        let safety = try #require(figures.safetyBackup)
        let safetyManifest = try BackupManifest.decode(Data(contentsOf: URL(fileURLWithPath: BackupManifest.path(forDump: safety))))
        #expect(safetyManifest.rowCounts["public.Audit Log"] == 0)
        #expect(try await databases(like: "gwi\\_pos\\_swap\\_\\_restoring%").isEmpty)
    }

    @Test func aFailedRestoreLeavesTheVenueExactlyAsItWas() async throws {
        let (venue, _, path) = try await backedUpVenue("broken", format: .plain, compression: .none)
        try rewrite(path) { $0.replacingOccurrences(of: "CREATE TABLE public.\"Payment\"", with: "CREATE TABLE public.\"Payment\" (oops") }
        try await cluster.psql(database: "gwi_pos_broken", sql: "DELETE FROM \"Audit Log\" WHERE id % 2 = 0")
        let before = try await cluster.rowCounts(database: "gwi_pos_broken")

        await #expect {
            try await RestoreOperation(tools: try await tools(), backupFile: path, confirmed: true).run(venue)
        } throws: { "\($0)".contains("psql exited") }
        #expect(try await cluster.rowCounts(database: "gwi_pos_broken") == before)
        #expect(try await databases(like: "gwi\\_pos\\_broken\\_\\_%").isEmpty)
    }

    @Test func restoreAsANewDatabaseRefusesOneThatExists() async throws {
        let (venue, manifest, _) = try await backedUpVenue("copyme")
        let figures = try await RestoreOperation(tools: try await tools(), target: .newDatabase("gwi_copyme_restored")).run(venue)
        #expect(figures.tablesMatched == 6 && figures.restoredInto == "gwi_copyme_restored")
        #expect(try await cluster.rowCounts(database: "gwi_copyme_restored") == manifest.rowCounts)
        await #expect {
            try await RestoreOperation(tools: try await tools(), target: .newDatabase("gwi_copyme_restored")).run(venue)
        } throws: { "\($0)".contains("already exists") }
    }

    @Test(arguments: [BackupFormat.custom, .plain])
    func restoreInPlaceReplacesTheContentsInOneTransaction(format: BackupFormat) async throws {
        let (venue, manifest, _) = try await backedUpVenue("inplace_\(format.rawValue)", format: format)
        let database = venue.database
        try await cluster.psql(database: database, sql: "DELETE FROM \"Payment\"; CREATE TABLE stray (i int); INSERT INTO \"Employee\" (name, role, hired_on) VALUES ('x','y','2020-01-01')")
        let figures = try await RestoreOperation(tools: try await tools(), target: .inPlace, confirmed: true).run(venue)
        var expected = manifest.rowCounts
        expected["public.stray"] = 0  // both formats drop only what the dump holds
        #expect(try await cluster.rowCounts(database: database) == expected)
        #expect(figures.safetyBackup != nil)
        #expect(figures.untouchedTables == ["public.stray"])
    }
}

@Suite struct PruneTests {
    let day: TimeInterval = 86_400
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Writes a real backup file and manifest dated `daysAgo` (negative: in the future).
    func backup(in directory: String, daysAgo: Double, verified: Bool = false, name: String? = nil,
                purpose: BackupPurpose = .scheduled) throws -> String {
        let date = now.addingTimeInterval(-daysAgo * day)
        let file = name ?? "gwi_pos_p-\(Timestamp.compact(date)).dump"
        let path = directory + "/" + file
        let content = Data("dump of \(daysAgo)".utf8)
        try content.write(to: URL(fileURLWithPath: path))
        let digest = try DigestTap.digest(ofFile: path)
        let (bytes, sha) = (digest.bytes, digest.sha256)
        let manifest = BackupManifest(venue: "p", database: "gwi_pos_p", file: file, format: .custom, bytes: bytes, sha256: sha,
                                      startedAt: date, finishedAt: date, serverVersion: "15", pgDumpVersion: "15",
                                      snapshot: "s", rowCounts: ["public.Order": 1], tool: "gwi-fleet", purpose: purpose)
        try manifest.encoded().write(to: URL(fileURLWithPath: BackupManifest.path(forDump: path)))
        if verified {
            try BackupCatalog.record(VerificationRecord(verifiedAt: date, sha256: sha, checksumOK: true, restoreOK: true,
                                                        tablesMatched: 1, tables: 1, mismatches: []), forDump: path)
        }
        return path
    }

    func venue(_ root: String, keepDays: Int = 30, keepMin: Int = 3) -> Venue {
        testVenue("p", url: "postgresql://x/{database}", directory: root)
            .with { $0.backup.retention = RetentionPolicy(keepDays: keepDays, keepMin: keepMin) }
    }

    func run(_ venue: Venue, dryRun: Bool = false) async throws -> PruneResult {
        let now = self.now
        return try await PruneOperation(dryRun: dryRun, now: { now }).run(venue)
    }

    @Test func policyKeepsTheNewestAndTheNewestVerifiedAndDeletesTheRestPastKeepDays() async throws {
        let root = try scratchDirectory("prune")
        let directory = root + "/p"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let future = try backup(in: directory, daysAgo: -2)               // clock skew: kept, not counted
        let young = try backup(in: directory, daysAgo: 1)                 // newest 3
        let ten = try backup(in: directory, daysAgo: 10)                  // newest 3
        let thirty = try backup(in: directory, daysAgo: 35)               // newest 3 (the future one does not count)
        let forty = try backup(in: directory, daysAgo: 40)                // past keep_days: deleted
        let verifiedOld = try backup(in: directory, daysAgo: 50, verified: true)  // newest verified: kept
        let older = try backup(in: directory, daysAgo: 60, verified: true)        // verified but not newest: deleted
        let unparsable = try backup(in: directory, daysAgo: 90)
        try "{ not json".write(toFile: BackupManifest.path(forDump: unparsable), atomically: true, encoding: .utf8)
        let dry = try await run(venue(root), dryRun: true)
        #expect(dry.dryRun)
        #expect(dry.summary == "would delete 2, kept 6")
        #expect(FileManager.default.fileExists(atPath: forty))

        _ = try await run(venue(root))
        let exists = { (path: String) in FileManager.default.fileExists(atPath: path) }
        #expect(exists(future) && exists(young) && exists(ten) && exists(thirty) && exists(verifiedOld))
        #expect(!exists(forty) && !exists(BackupManifest.path(forDump: forty)))
        #expect(!exists(older) && !exists(BackupCatalog.verificationPath(forDump: older)))
        #expect(exists(unparsable) && exists(BackupManifest.path(forDump: unparsable)))
    }

    @Test func planExplainsEveryDecision() async throws {
        let root = try scratchDirectory("plan")
        let directory = root + "/p"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for age in [1.0, 2, 3, 40, 45] { _ = try backup(in: directory, daysAgo: age) }
        let partial = directory + "/.old.dump.partial"
        try Data("x".utf8).write(to: URL(fileURLWithPath: partial))
        try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-3 * day)], ofItemAtPath: partial)
        let decisions = Retention.plan(BackupCatalog.entries(in: directory), retention: RetentionPolicy(keepDays: 30, keepMin: 2), now: now)
        let reasons = decisions.map { "\($0.delete ? "delete" : "keep"): \($0.reason)" }
        #expect(reasons == [
            "keep: one of the newest 2 complete backups",
            "keep: one of the newest 2 complete backups",
            "keep: younger than 30 days",
            "delete: leftover temporary file older than a day",
            "delete: older than 30 days",
            "delete: older than 30 days",
        ])
        // keep_min wins over keep_days: with 5 kept, nothing is old enough to go.
        #expect(Retention.plan(BackupCatalog.entries(in: directory), retention: RetentionPolicy(keepDays: 30, keepMin: 5), now: now)
            .filter(\.delete).map(\.path) == [partial])
    }

    @Test func aSafetyBackupNeverCountsTowardKeepMin() async throws {
        let root = try scratchDirectory("plan-safety")
        let directory = root + "/p"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = try backup(in: directory, daysAgo: 1, purpose: .safety)
        _ = try backup(in: directory, daysAgo: 35, purpose: .safety)
        _ = try backup(in: directory, daysAgo: 40)
        _ = try backup(in: directory, daysAgo: 45)
        let decisions = Retention.plan(BackupCatalog.entries(in: directory), retention: RetentionPolicy(keepDays: 30, keepMin: 2), now: now)
        #expect(decisions.map { "\($0.delete ? "delete" : "keep"): \($0.reason)" } == [
            "keep: safety backup younger than 30 days",
            "delete: safety backup older than 30 days (no restore point)",
            "keep: one of the newest 2 complete backups",
            "keep: one of the newest 2 complete backups",
        ], "each restore's safety backup would otherwise cost a real restore point")
    }

    @Test func aVenueWhoseLatestBackupFailedIsNotPruned() async throws {
        let root = try scratchDirectory("failedlatest")
        let directory = root + "/p"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let old = try backup(in: directory, daysAgo: 100)
        for age in [1.0, 2, 3] { _ = try backup(in: directory, daysAgo: age) }
        let venue = venue(root)
        try BackupCatalog.recordAttempt(AttemptRecord(status: .failed, at: now, error: "cannot connect"), of: venue)
        let outcomes = await FleetRunner(jobs: 1).run([venue]) { try await PruneOperation(now: { Date(timeIntervalSince1970: 1_800_000_000) }).run($0) }
        #expect(outcomes[0].status == .skipped)
        #expect(outcomes[0].error?.contains("the latest backup attempt failed") == true)
        #expect(FileManager.default.fileExists(atPath: old))
    }

    @Test func backupWithPruneDeletesWhatThePolicyAllowsRightAfter() async throws {
        try await TestCluster.shared.createVenue(database: "gwi_pos_bprune")
        let root = try scratchDirectory("bprune")
        let venue = testVenue("bprune", directory: root).with { $0.backup.retention = RetentionPolicy(keepDays: 0, keepMin: 1) }
        let operation = BackupOperation(tools: try await PgTools.locate(), prune: true)
        _ = try await operation.run(venue)
        // The next night's backup, two seconds later on the clock (no waiting for a new file name).
        let figures = try await WallClock.$offset.withValue(WallClock.offset + 2) { try await operation.run(venue) }
        let remaining = BackupCatalog.entries(of: venue)
        #expect(remaining.count == 1)
        #expect(remaining.first?.path == figures.file)
        #expect(figures.pruned?.deleted.count == 1)
    }
}

extension Venue {
    func with(_ change: (inout Venue) -> Void) -> Venue {
        var copy = self
        change(&copy)
        return copy
    }
}

import FleetEngine
import FleetModel
import Foundation
import PostgresClient
import Testing
import TestSupport

@Suite struct BackupTests {
    let cluster = TestCluster.shared

    func operation() async throws -> BackupOperation {
        BackupOperation(tools: try await PgTools.locate(), connector: VenueConnector(attempts: 2, firstBackoff: .milliseconds(100)))
    }

    @Test func backupOfUnreachableMissingAndStuckVenuesFailsOnlyThoseVenues() async throws {
        try await cluster.createVenue(database: "gwi_pos_mix_good")
        let directory = try scratchDirectory("mix")
        // A server that accepts and never answers: this venue can only time out. (A venue stuck on
        // a lock fails earlier, naming the holder: FaultDrillTests.)
        let listener = try SilentListener()

        let venues = [
            testVenue("mix_good", directory: directory),
            testVenue("mix_unreachable", url: "postgresql://postgres@127.0.0.1:1/gwi_pos_mix_unreachable", directory: directory),
            testVenue("mix_missing", directory: directory),
            testVenue("mix_stuck", url: "postgresql://postgres@127.0.0.1:\(listener.port)/gwi_pos_mix_stuck", directory: directory,
                      timeout: .seconds(2)),
        ]
        let backup = try await operation()
        let outcomes = await FleetRunner(jobs: 4).run(venues) { try await backup.run($0) }
        withExtendedLifetime(listener) {}

        #expect(outcomes.map(\.status) == [.ok, .failed, .failed, .failed])
        #expect(outcomes[1].error?.contains("Connection refused") == true)
        #expect(outcomes[1].error?.contains("after 2 attempts") == true)
        #expect(outcomes[2].error?.contains("database \"gwi_pos_mix_missing\" does not exist") == true)
        #expect(outcomes[3].error?.contains("timed out after 2s") == true)
        #expect(outcomes[3].duration < .seconds(15))

        let good = outcomes[0]
        let result = try #require(good.result(as: BackupResult.self))
        let file = result.file
        #expect(FileManager.default.fileExists(atPath: file))
        #expect(result.rowCounts["public.Order"] == 1000)
        // The stuck venue left nothing that looks like a backup, not even a temporary file.
        #expect(files(in: directory + "/mix_stuck") == [".last-attempt.json", ".lock"])
        #expect(BackupCatalog.lastAttempt(of: venues[3])?.status == .failed)
        #expect(BackupCatalog.lastAttempt(of: venues[0])?.status == .ok)
    }

    @Test(arguments: [BackupFormat.custom, .plain])
    func dumpRestoresToTheManifestCountsWhileRowsAreBeingInserted(format: BackupFormat) async throws {
        let database = "gwi_pos_live_\(format.rawValue)"
        try await cluster.createVenue(database: database, scale: 2)
        // Quoting-hostile names must survive the counts, the dump and the restore.
        try await cluster.psql(database: database, sql: #"""
            CREATE TABLE "Order ""special""" ("what's" text, "Audit Log" int);
            INSERT INTO "Order ""special""" SELECT 'it''s, "x"', i FROM generate_series(1, 77) i;
            """#)
        let directory = try scratchDirectory("live")
        let writer = try await PostgresConnection.connect(ConnectionInfo(parsing: cluster.url(database: database)))
        let inserting = Task {
            var inserted = 0
            while !Task.isCancelled {
                try await writer.execute("""
                    INSERT INTO "Order" (opened_at, status, total_cents) VALUES (now(), 'open', 100);
                    INSERT INTO "Audit Log" (actor, "what's") VALUES ('test', 'insert during backup')
                    """)
                inserted += 1
            }
            return inserted
        }
        try await Task.sleep(for: .milliseconds(100))
        let manifest = try await operation().dumper.backup(testVenue("live_\(format.rawValue)", database: database,
                                                              directory: directory, format: format))
        // Let at least one more row arrive after the snapshot, however slow the machine.
        let inBackup = manifest.rowCounts["public.Order"]!
        let watcher = try await PostgresConnection.connect(ConnectionInfo(parsing: cluster.url(database: database)))
        for _ in 0..<200 where Int(try await watcher.query("SELECT count(*) FROM \"Order\"").scalar!)! <= inBackup {
            try await Task.sleep(for: .milliseconds(50))
        }
        inserting.cancel()
        _ = try? await inserting.value

        // Rows kept arriving: the live database is ahead of the backup.
        let live = try await cluster.rowCounts(database: database)
        #expect(live["public.Order"]! > manifest.rowCounts["public.Order"]!)
        #expect(manifest.rowCounts["public.Order \"special\""] == 77)
        #expect(manifest.rowCounts.count == 7)

        // The file is what the manifest says it is.
        let path = directory + "/live_\(format.rawValue)/" + manifest.file
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(data.count == manifest.bytes)
        let sum = try await Shell.runInBackground("/usr/bin/sha256sum", [path])
        #expect(sum.hasPrefix(manifest.sha256 + " "))
        #expect(manifest.file.hasSuffix(format == .custom ? ".dump.zst" : ".sql.zst"))  // zstd:3 by default
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // Restored into a fresh database, every table has exactly the manifest's rows.
        let restored = "restore_of_\(format.rawValue)"
        try await cluster.createDatabase(restored)
        let target = ["-h", cluster.directory, "-p", String(cluster.port), "-U", "postgres", "-d", restored]
        // By hand, as an operator would: zstd -d, then the PostgreSQL tool.
        let plainFile = path + ".unpacked"
        try await Shell.runInBackground("/bin/sh", ["-c", "zstd -q -d -c '\(path)' > '\(plainFile)'"])
        #expect(try DigestTap.digest(ofFile: plainFile).sha256 == manifest.dumpSHA256)
        if format == .custom {
            try await Shell.runInBackground(cluster.binDirectory + "/pg_restore", ["--no-owner", "--exit-on-error"] + target + [plainFile])
        } else {
            try await Shell.runInBackground(cluster.binDirectory + "/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1"] + target + ["-f", plainFile])
        }
        unlink(plainFile)
        #expect(try await cluster.rowCounts(database: restored) == manifest.rowCounts)

        // The manifest on disk decodes to the same values.
        let onDisk = try BackupManifest.decode(Data(contentsOf: URL(fileURLWithPath: BackupManifest.path(forDump: path))))
        var expected = manifest
        expected.startedAt = onDisk.startedAt
        expected.finishedAt = onDisk.finishedAt
        #expect(onDisk == expected)
        #expect(Timestamp.iso8601(onDisk.startedAt) == Timestamp.iso8601(manifest.startedAt))
        #expect(Timestamp.iso8601(onDisk.finishedAt) == Timestamp.iso8601(manifest.finishedAt))
    }

    @Test func pgDumpKilledMidRunLeavesNoCompleteLookingFile() async throws {
        let database = "gwi_pos_killed"
        try await cluster.createVenue(database: database)
        try await cluster.psql(database: database, sql: """
            CREATE TABLE bulk AS SELECT i, repeat(md5(i::text), 16) AS payload FROM generate_series(1, 60000) i
            """)
        let directory = try scratchDirectory("killed")
        let backup = try await operation()
        let task = Task { try await backup.dumper.backup(testVenue("killed", database: database, directory: directory, format: .plain)) }

        // Freeze the real pg_dump as soon as it appears, then kill it: it dies mid-run.
        let pid = await ProcessTable.freezeFirst(commandContaining: ["pg_dump", "dbname=\(database)"])
        #expect(pid != nil)
        if let pid { kill(pid, SIGKILL) }
        let result = await task.result
        #expect {
            try result.get()
        } throws: { error in
            "\(error)".contains("pg_dump was killed by signal 9")
        }
        #expect(files(in: directory + "/killed") == [".last-attempt.json", ".lock"])
        #expect(BackupCatalog.lastAttempt(of: testVenue("killed", database: database, directory: directory))?.error?
            .contains("killed by signal 9") == true)
    }

    @Test func aSecondRunOnTheSameVenueReportsItLocked() async throws {
        try await cluster.createVenue(database: "gwi_pos_locked")
        let directory = try scratchDirectory("locked")
        let venue = testVenue("locked", directory: directory)
        let backup = try await operation()
        // Another process holds the venue's lock (flock is per open file, so a second open conflicts).
        try FileManager.default.createDirectory(atPath: directory + "/locked", withIntermediateDirectories: true)
        // O_CLOEXEC: a child spawned meanwhile by another test must not inherit (and keep holding) the lock.
        let fd = open(directory + "/locked/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let outcomes = await FleetRunner(jobs: 1).run([venue]) { try await backup.run($0) }
        #expect(outcomes[0].status == .failed)
        #expect(outcomes[0].error?.hasPrefix("locked: another gwi-fleet run is working on this venue") == true)
        close(fd)
        let again = await FleetRunner(jobs: 1).run([venue]) { try await backup.run($0) }
        #expect(again[0].status == .ok, "\(again[0].error ?? "")")
    }

    @Test func backupDirectoriesArePrivate() async throws {
        try await cluster.createVenue(database: "gwi_pos_private")
        let directory = try scratchDirectory("private") + "/backups"
        _ = try await operation().dumper.backup(testVenue("private", directory: directory))
        for path in [directory, directory + "/private"] {
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o700, "\(path)")
        }
    }
}


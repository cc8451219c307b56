@testable import FleetEngine
import FleetModel
import Foundation
import Testing
import TestSupport

/// Restore tests on a scratch server that lacks what a good backup names (a role, a tablespace),
/// and table keys that two tables can no longer share.
@Suite struct VerifyScratchTests {
    let cluster = TestCluster.shared

    func verify(_ venue: Venue, tools: PgTools) async -> VenueOutcome {
        await FleetRunner(jobs: 1).run([venue]) { try await VerifyOperation(tools: tools).run($0) }[0]
    }

    // 8. A role granted privileges in a plain backup, missing on the scratch server, made the backup `corrupt`.
    @Test func aRoleTheScratchServerLacksFailsTheRunNotTheBackupAndNoOwnerVerifiesIt() async throws {
        let role = "gwi_ghost_\(UUID().uuidString.prefix(8).lowercased())"
        try await cluster.createVenue(database: "gwi_pos_ghost_plain")
        try await cluster.psql(database: "gwi_pos_ghost_plain", sql: """
            CREATE ROLE \(role); ALTER TABLE public."Order" OWNER TO \(role); GRANT SELECT ON public."MenuItem" TO \(role);
            """)
        let venue = testVenue("ghost_plain", directory: try scratchDirectory("ghost-plain"), format: .plain)
        let tools = try await PgTools.locate()
        let manifest = try await VenueDumper(tools: tools).backup(venue)
        // The role is gone from the server that verify restores on (the venue's own): the backup still names it.
        try await cluster.psql(database: "gwi_pos_ghost_plain", sql: "REASSIGN OWNED BY \(role) TO postgres; DROP OWNED BY \(role); DROP ROLE \(role)")

        let outcome = await verify(venue, tools: tools)
        #expect(outcome.status == .failed)
        let expected = "the scratch server lacks role \"\(role)\" (an error of the scratch environment, not of the backup); create it there or set verify.no_owner: true"
        #expect(outcome.error?.contains(expected) == true, "\(outcome.error ?? "")")
        let failed = try #require(outcome.result(as: VerifyResult.self)?.backups.first)
        #expect(failed.ok == false && failed.checksumOK && failed.verifyFailed == expected && failed.error == nil)
        #expect(BackupCatalog.entries(of: venue).first?.state == .complete, "not corrupt: not judged")
        #expect(BackupCatalog.entries(of: venue).first?.verification == nil)

        var noOwner = venue
        noOwner.verifyNoOwner = true
        let passed = await verify(noOwner, tools: tools)
        #expect(passed.status == .ok, "\(passed.error ?? "")")
        let backup = try #require(passed.result(as: VerifyResult.self)?.backups.first)
        #expect(backup.ok && backup.tablesMatched == manifest.rowCounts.count && backup.tables == manifest.rowCounts.count)
        #expect(BackupCatalog.entries(of: venue).first?.state == .verified)
    }

    // 8. With no_owner, a plain backup's other errors still fail it: only owner, grant and
    // tablespace statements may fail, and only for what the server lacks.
    @Test func noOwnerStillFindsADamagedPlainBackup() async throws {
        try await cluster.createVenue(database: "gwi_pos_noowner_damaged")
        var venue = testVenue("noowner_damaged", directory: try scratchDirectory("noowner-damaged"), format: .plain)
        venue.backup.compression = .none
        venue.verifyNoOwner = true
        let tools = try await PgTools.locate()
        var manifest = try await VenueDumper(tools: tools).backup(venue)
        // A statement that fails for the backup's own reason, with the manifest made to match the
        // file (as if pg_dump had written it so): the checksum passes, the restore must not.
        let path = BackupCatalog.directory(of: venue) + "/" + manifest.file
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "\nCREATE TABLE public.\"MenuItem\"", with: "\nCREATE TABLE public.\"MenuItem\" ( broken;\nCREATE TABLE public.\"MenuItem\"")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let digest = try DigestTap.digest(ofFile: path)
        (manifest.bytes, manifest.sha256, manifest.md5, manifest.dumpSHA256) = (digest.bytes, digest.sha256, digest.md5, digest.sha256)
        try manifest.encoded().write(to: URL(fileURLWithPath: BackupManifest.path(forDump: path)))

        let outcome = await verify(venue, tools: tools)
        #expect(outcome.status == .failed)
        let backup = try #require(outcome.result(as: VerifyResult.self)?.backups.first)
        #expect(backup.verifyFailed == nil && backup.restoreOK == false)
        #expect(backup.error?.contains("syntax error") == true, "\(backup.error ?? "")")
        #expect(BackupCatalog.entries(of: venue).first?.state == .corrupt)
    }

    // 8. A custom backup of a table in a tablespace the scratch server lacks.
    @Test func aTablespaceTheScratchServerLacksFailsTheRunNotTheBackupAndNoOwnerVerifiesIt() async throws {
        let name = "gwi_space_\(UUID().uuidString.prefix(8).lowercased())"
        let location = cluster.directory + "/" + name
        try FileManager.default.createDirectory(atPath: location, withIntermediateDirectories: true)
        if getuid() == 0 { try Shell.run("/bin/chown", ["postgres:postgres", location]) }
        defer { try? FileManager.default.removeItem(atPath: location) }
        try await cluster.createVenue(database: "gwi_pos_spaced")
        try await cluster.psql(database: "postgres", sql: "CREATE TABLESPACE \(name) LOCATION '\(location)'")
        try await cluster.psql(database: "gwi_pos_spaced", sql: "ALTER TABLE public.\"MenuItem\" SET TABLESPACE \(name)")
        let venue = testVenue("spaced", directory: try scratchDirectory("spaced"))
        let tools = try await PgTools.locate()
        _ = try await VenueDumper(tools: tools).backup(venue)
        try await cluster.psql(database: "gwi_pos_spaced", sql: "ALTER TABLE public.\"MenuItem\" SET TABLESPACE pg_default")
        try await cluster.psql(database: "postgres", sql: "DROP TABLESPACE \(name)")

        let outcome = await verify(venue, tools: tools)
        #expect(outcome.status == .failed)
        #expect(outcome.error?.contains("the scratch server lacks tablespace \"\(name)\" (an error of the scratch environment, not of the backup)") == true,
                "\(outcome.error ?? "")")
        #expect(BackupCatalog.entries(of: venue).first?.state == .complete)

        var noOwner = venue
        noOwner.verifyNoOwner = true
        let passed = await verify(noOwner, tools: tools)
        #expect(passed.status == .ok, "\(passed.error ?? "")")
        #expect(BackupCatalog.entries(of: venue).first?.state == .verified)
    }

    // 7. A manifest written before quoted keys still verifies: its ordinary names compare as they
    // are, and its ambiguous `s.x.t` matches one of the tables it may name.
    @Test func aManifestWithOldUnquotedKeysStillVerifies() async throws {
        try await cluster.createVenue(database: "gwi_pos_old_keys")
        try await cluster.psql(database: "gwi_pos_old_keys", sql: """
            CREATE SCHEMA "s.x"; CREATE SCHEMA s;
            CREATE TABLE "s.x".t (id int); INSERT INTO "s.x".t SELECT generate_series(1, 2);
            CREATE TABLE s."x.t" (id int); INSERT INTO s."x.t" SELECT generate_series(1, 5);
            """)
        let venue = testVenue("old_keys", directory: try scratchDirectory("old-keys"))
        let tools = try await PgTools.locate()
        var manifest = try await VenueDumper(tools: tools).backup(venue)
        #expect(manifest.rowCounts[#""s.x".t"#] == 2 && manifest.rowCounts[#"s."x.t""#] == 5)
        // As the old gwi-fleet wrote it: plain `schema.table`, the later of two equal keys kept.
        var old: [String: Int] = [:]
        for key in manifest.rowCounts.keys.sorted() { old[TableCounter.legacyKey(of: key)] = manifest.rowCounts[key] }
        #expect(old["s.x.t"] != nil && old.count == manifest.rowCounts.count - 1 && old["public.Order"] == manifest.rowCounts["public.Order"])
        manifest.rowCounts = old
        let path = BackupCatalog.directory(of: venue) + "/" + manifest.file
        try manifest.encoded().write(to: URL(fileURLWithPath: BackupManifest.path(forDump: path)))

        let outcome = await verify(venue, tools: tools)
        #expect(outcome.status == .ok, "\(outcome.error ?? "")")
        let backup = try #require(outcome.result(as: VerifyResult.self)?.backups.first)
        #expect(backup.tablesMatched == old.count && backup.mismatches.isEmpty)

        // A real difference in an ordinary table of an old manifest is still found.
        manifest.rowCounts["public.Order"]! += 1
        try manifest.encoded().write(to: URL(fileURLWithPath: BackupManifest.path(forDump: path)))
        let mismatched = try #require(await verify(venue, tools: tools).result(as: VerifyResult.self)?.backups.first)
        #expect(mismatched.mismatches.map(\.table) == ["public.Order"])
    }

    @Test func tableKeysQuoteOnlyWhatWouldBeAmbiguous() {
        #expect(TableCounter.key(schema: "public", table: "Order") == "public.Order")
        #expect(TableCounter.key(schema: "s.x", table: "t") == #""s.x".t"#)
        #expect(TableCounter.key(schema: "s", table: "x.t") == #"s."x.t""#)
        #expect(TableCounter.key(schema: "public", table: #"Order "special""#) == #"public.Order "special""#)
        #expect(TableCounter.key(schema: "public", table: #""q"#) == #"public."""q""#)
        for (schema, table) in [("public", "Order"), ("s.x", "t"), ("s", "x.t"), ("public", #"a"b"#), ("public", #""q"#), ("a b", "c-d")] {
            let parts = TableCounter.parts(of: TableCounter.key(schema: schema, table: table))
            #expect(parts?.schema == schema && parts?.table == table)
        }
        for old in ["s.x.t", #"public."q"#] { #expect(TableCounter.parts(of: old) == nil) }
    }
}

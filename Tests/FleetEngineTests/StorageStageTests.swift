@testable import FleetEngine
import FleetModel
import Foundation
import Testing
import TestSupport

/// Compression and encryption as stages of the backup chain, and their reverse for verify and restore.
@Suite struct StorageStageTests {
    let cluster = TestCluster.shared

    /// A fresh age identity: (identity file, its recipient).
    func ageIdentity() async throws -> (String, String) {
        let path = try scratchDirectory("age") + "/identity.txt"
        try await Shell.runInBackground("/usr/bin/env", ["age-keygen", "-o", path])
        let recipient = try await Shell.runInBackground("/usr/bin/env", ["age-keygen", "-y", path]).trimmingCharacters(in: .whitespacesAndNewlines)
        return (path, recipient)
    }

    func venue(_ slug: String, format: BackupFormat = .custom, compression: BackupCompression,
               encryption: BackupEncryption? = nil) async throws -> Venue {
        try await cluster.createVenue(database: "gwi_pos_\(slug)")
        var venue = testVenue(slug, directory: try scratchDirectory(slug), format: format)
        venue.backup.compression = compression
        venue.backup.encryption = encryption
        return venue
    }

    @Test func zstdAndAgeRoundTripThroughVerifyAndRestore() async throws {
        let (identity, recipient) = try await ageIdentity()
        let venue = try await venue("stage_age", compression: .zstd(level: 3),
                                    encryption: BackupEncryption(recipients: [recipient], identityFile: identity))
        let tools = try await PgTools.locate()
        let manifest = try await VenueDumper(tools: tools).backup(venue)
        #expect(manifest.file.hasSuffix(".dump.zst.age"))
        #expect(manifest.compression == "zstd:3")
        #expect(manifest.encryption == BackupManifest.Encryption(tool: "age", recipients: [BackupCodec.fingerprint(recipient)]))
        let path = BackupCatalog.directory(of: venue) + "/" + manifest.file
        let stored = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(stored.starts(with: Data("age-encryption.org/v1".utf8)))
        #expect(stored.range(of: Data("MenuItem".utf8)) == nil && stored.range(of: Data("Audit Log".utf8)) == nil)
        let digest = try DigestTap.digest(ofFile: path)
        #expect(digest.sha256 == manifest.sha256 && digest.md5 == manifest.md5 && digest.bytes == manifest.bytes)
        #expect(manifest.dumpSHA256 != nil && manifest.dumpSHA256 != manifest.sha256)
        // By hand: age -d | zstd -d gives pg_dump's output, whose hash the manifest recorded.
        let unpacked = try await Shell.runInBackground("/bin/sh", ["-c", "age -d -i '\(identity)' '\(path)' | zstd -q -d -c | sha256sum"])
        #expect(unpacked.hasPrefix(manifest.dumpSHA256! + " "))

        #expect(try await VerifyOperation(tools: tools).run(venue).summary.contains("tables matched"))
        #expect(BackupCatalog.entries(of: venue).first?.state == .verified)
        _ = try await RestoreOperation(tools: tools, target: .newDatabase("gwi_stage_age_copy")).run(venue)
        #expect(try await cluster.rowCounts(database: "gwi_stage_age_copy") == manifest.rowCounts)
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE gwi_stage_age_copy")
    }

    @Test func aWrongIdentityRestoresNothingAndLeavesTheBackupAlone() async throws {
        let (_, recipient) = try await ageIdentity()
        let (otherIdentity, _) = try await ageIdentity()
        var venue = try await venue("stage_wrong", compression: .zstd(level: 1), encryption: BackupEncryption(recipients: [recipient]))
        let tools = try await PgTools.locate()
        _ = try await VenueDumper(tools: tools).backup(venue)
        // No identity at all: refused before anything is touched.
        await #expect { _ = try await RestoreOperation(tools: tools, target: .newDatabase("gwi_stage_wrong_copy")).run(venue) }
            throws: { "\($0)".contains("no identity is configured") }
        venue.backup.encryption?.identityFile = otherIdentity
        await #expect { _ = try await RestoreOperation(tools: tools, target: .newDatabase("gwi_stage_wrong_copy")).run(venue) }
            throws: { "\($0)".contains("does not match this backup's recipients") }
        let exists = try await cluster.psql(database: "postgres", sql: "SELECT count(*) FROM pg_database WHERE datname = 'gwi_stage_wrong_copy'")
        #expect(exists.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        let outcome = await FleetRunner(jobs: 1).run([venue]) { try await VerifyOperation(tools: tools).run($0) }[0]
        #expect(outcome.status == .failed && outcome.error?.contains("verify could not run") == true, "\(outcome.error ?? "")")
        #expect(BackupCatalog.entries(of: venue).first?.state == .complete)
    }

    @Test(arguments: [(BackupFormat.plain, BackupCompression.zstd(level: 5), ".sql.zst"), (.plain, .gzip(level: 6), ".sql.gz"),
                      (.custom, .gzip(level: 6), ".dump"), (.custom, BackupCompression.none, ".dump")])
    func everyFormatAndCompressionVerifies(format: BackupFormat, compression: BackupCompression, suffix: String) async throws {
        let slug = "stage_\(format.rawValue)_\(compression.description.replacingOccurrences(of: ":", with: ""))"
        let venue = try await venue(slug, format: format, compression: compression)
        let tools = try await PgTools.locate()
        let manifest = try await VenueDumper(tools: tools).backup(venue)
        #expect(manifest.file.hasSuffix(suffix), "\(manifest.file)")
        #expect(manifest.compression == compression.description)
        _ = try await VerifyOperation(tools: tools).run(venue)
        #expect(BackupCatalog.entries(of: venue).first?.state == .verified)
    }

    @Test func anIdentityFromTheEnvironmentIsHandedToAgeFromMemoryNeverFromDisk() async throws {
        let (identityPath, recipient) = try await ageIdentity()
        let key = try String(contentsOfFile: identityPath, encoding: .utf8)
        let encryption = BackupEncryption(recipients: [recipient], identityEnv: "GWI_TEST_AGE_KEY")
        var manifest = BackupManifest(venue: "x", database: "x", file: "x.dump.age", format: .custom, bytes: 0, sha256: "",
                                      startedAt: Date(), finishedAt: Date(), serverVersion: "", pgDumpVersion: "", snapshot: "",
                                      rowCounts: [:], tool: "gwi-fleet")
        manifest.encryption = BackupManifest.Encryption(tool: "age", recipients: [])
        // The memory file lives exactly as long as the stages need it.
        func stagesAndIdentityPath() throws -> String {
            let (stages, _, identity) = try BackupCodec.restoreStages(for: manifest, encryption: encryption, environment: ["GWI_TEST_AGE_KEY": key])
            let file = try #require(identity)
            #expect(stages.count == 1)
            #expect(file.path.hasPrefix("/proc/\(getpid())/fd/"))
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: file.path).hasPrefix("/memfd:"))
            #expect(try String(contentsOfFile: file.path, encoding: .utf8).contains("AGE-SECRET-KEY-"))
            return file.path
        }
        let path = try stagesAndIdentityPath()
        // Closed (the number may be reused by another test's descriptor, never for this key).
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: path))?.hasPrefix("/memfd:gwi-fleet-identity") != true)
    }
}

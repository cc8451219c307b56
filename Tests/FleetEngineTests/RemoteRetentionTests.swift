@testable import FleetEngine
import FleetModel
import Foundation
import Testing
import TestSupport

/// Retention on the remote, with its own policy and the local safety rules.
@Suite struct RemoteRetentionTests {
    let moto = MotoServer.shared
    let now = Date()

    @Test func theRemoteKeepsItsOwnPolicyAndNeverTheNewestVerified() async throws {
        let bucket = "gwi-retention-\(UUID().uuidString.prefix(6).lowercased())"
        try moto.makeBucket(bucket)
        var rcloneEnvironment: [String: String?] = moto.rcloneEnvironment(remote: "offsite").mapValues { $0 }
        rcloneEnvironment["AWS_CA_BUNDLE"] = .some(nil)
        let environment = rcloneEnvironment
        let remote = RcloneRemote(url: "offsite:\(bucket)/fleet", environment: environment)
        let root = try scratchDirectory("remote-retention")
        var venue = testVenue("ret", url: "postgresql://x/{database}", directory: root)
        venue.backup.retention = RetentionPolicy(keepDays: 365, keepMin: 5)                 // local: keeps everything
        venue.backup.remote = RemotePolicy(url: remote.url, retention: RetentionPolicy(keepDays: 30, keepMin: 1))
        try FileManager.default.createDirectory(atPath: root + "/ret", withIntermediateDirectories: true)

        // Remote backups 1, 40 (verified), 50 and 60 days old, and a dump whose upload never finished.
        let staging = try scratchDirectory("remote-retention-files")
        func put(daysAgo: Double, verified: Bool = false) async throws -> String {
            let date = now.addingTimeInterval(-daysAgo * 86_400)
            let name = "gwi_pos_ret-\(Timestamp.compact(date)).dump"
            try Data("dump \(daysAgo)".utf8).write(to: URL(fileURLWithPath: staging + "/" + name))
            let digest = try DigestTap.digest(ofFile: staging + "/" + name)
            var manifest = BackupManifest(venue: "ret", database: "gwi_pos_ret", file: name, format: .custom, bytes: digest.bytes,
                                          sha256: digest.sha256, startedAt: date, finishedAt: date, serverVersion: "15",
                                          pgDumpVersion: "15", snapshot: "s", rowCounts: [:], tool: "gwi-fleet")
            manifest.md5 = digest.md5
            try manifest.encoded().write(to: URL(fileURLWithPath: staging + "/" + BackupManifest.name(forDump: name)))
            try await remote.upload(staging + "/" + name, "ret", name)
            try await remote.upload(staging + "/" + BackupManifest.name(forDump: name), "ret", BackupManifest.name(forDump: name))
            if verified {
                let record = VerificationRecord(verifiedAt: date, sha256: digest.sha256, checksumOK: true, restoreOK: true,
                                                tablesMatched: 0, tables: 0, mismatches: [])
                try BackupCatalog.encoder.encode(record).write(to: URL(fileURLWithPath: staging + "/x.verify.json"))
                try await remote.upload(staging + "/x.verify.json", "ret", String(name.dropLast(5)) + ".verify.json")
            }
            return name
        }
        let newest = try await put(daysAgo: 1)
        let verified = try await put(daysAgo: 40, verified: true)
        let fifty = try await put(daysAgo: 50)
        let sixty = try await put(daysAgo: 60)
        try Data("cut off".utf8).write(to: URL(fileURLWithPath: staging + "/orphan"))
        try await remote.upload(staging + "/orphan", "ret", "gwi_pos_ret-20261126T000000Z.dump")

        let dry = try await PruneOperation(dryRun: true, remoteEnvironment: environment).run(venue)
        #expect(dry.remoteDeleted?.count == 2, "\(dry)")
        let figures = try await PruneOperation(remoteEnvironment: environment).run(venue)
        let left = Set(try await remote.list("ret").map(\.name))
        #expect(left.contains(newest) && left.contains(verified) && !left.contains(fifty) && !left.contains(sixty))
        #expect(!left.contains(BackupManifest.name(forDump: fifty)) && left.contains(BackupManifest.name(forDump: verified)))
        #expect(left.contains("gwi_pos_ret-20261126T000000Z.dump"), "a fresh dump without manifest may be an upload still going")
        let reasons = (figures.remoteKept ?? []).map(\.reason)
        #expect(reasons.contains("newest verified backup") && reasons.contains("one of the newest 1 complete backups"))

        // Nothing goes while the venue's latest backup attempt failed.
        try BackupCatalog.recordAttempt(AttemptRecord(status: .failed, at: now, error: "cannot connect"), of: venue)
        let outcome = await FleetRunner(jobs: 1).run([venue]) { try await PruneOperation(remoteEnvironment: environment).run($0) }[0]
        #expect(outcome.status == .skipped)
    }
}

import Foundation
import Testing
import TestSupport

/// Backups leaving the machine: zstd + age + an rclone remote on a real S3 API (moto, loopback).
@Suite struct OffsiteTests {
    let cluster = TestCluster.shared
    let moto = MotoServer.shared

    /// A fleet with zstd, age and a remote in its own bucket; returns the directory, the identity
    /// file and the environment for gwi-fleet's rclone children.
    func fleet(_ slug: String, remote: String = "offsite") async throws -> (FleetDirectory, String, [String: String], String) {
        let keys = try FleetDirectory("version: 1\nvenues: []\n")
        let identity = keys.path + "/identity.txt"
        try await Shell.runInBackground("/usr/bin/env", ["age-keygen", "-o", identity])
        let recipient = try await Shell.runInBackground("/usr/bin/env", ["age-keygen", "-y", identity]).trimmingCharacters(in: .whitespacesAndNewlines)
        let bucket = "gwi-\(slug.replacingOccurrences(of: "_", with: "-"))-\(UUID().uuidString.prefix(6).lowercased())"
        try moto.makeBucket(bucket)
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              backup:
                compression: zstd:3
                encrypt:
                  recipients: [\(recipient)]
                  identity_file: \(identity)
                remote:
                  url: \(remote):\(bucket)/fleet
            venues:
              - slug: \(slug)
            """)
        return (directory, identity, moto.rcloneEnvironment(remote: "offsite"), bucket)
    }

    func gwi(_ arguments: [String], _ directory: FleetDirectory, _ environment: [String: String]) async throws -> Shell.Output {
        try await CLI.run(arguments + ["--fleet", directory.fleet], environment: environment, unsetting: ["AWS_CA_BUNDLE"])
    }

    func rclone(_ arguments: [String], _ environment: [String: String]) async throws -> String {
        var env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        env["AWS_CA_BUNDLE"] = nil
        return try await Shell.runInBackground("/usr/bin/env", ["rclone"] + arguments, environment: env)
    }

    func venue(_ report: [String: Any], _ slug: String) -> [String: Any] {
        (report["venues"] as? [[String: Any]] ?? []).first { $0["slug"] as? String == slug } ?? [:]
    }

    @Test func encryptedBackupsGoOffsiteAndComeBackWhenTheMachineIsGone() async throws {
        try await cluster.createVenue(database: "gwi_pos_off_trip")
        let (directory, _, fleetEnvironment, bucket) = try await fleet("off_trip")
        var environment = fleetEnvironment
        let backup = try await gwi(["backup"], directory, environment)
        #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
        let row = venue(try directory.report(), "off_trip")
        let offsite = row["offsite"] as? [String: Any] ?? [:]
        #expect(offsite["status"] as? String == "verified")
        let file = try #require(row["file"] as? String)
        let name = URL(fileURLWithPath: file).lastPathComponent
        #expect(name.hasSuffix(".dump.zst.age"))
        #expect(offsite["path"] as? String == "offsite:\(bucket)/fleet/off_trip/\(name)")
        // The remote object's bytes are the local file's; the manifest is there too.
        let remoteSum = try await rclone(["hashsum", "md5", "offsite:\(bucket)/fleet/off_trip"], environment)
        let localMD5 = try await Shell.runInBackground("/usr/bin/md5sum", [file])
        #expect(remoteSum.contains(String(localMD5.prefix(32)) + "  " + name))
        #expect(remoteSum.contains(".manifest.json"))
        let stored = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(stored.starts(with: Data("age-encryption.org/v1".utf8)) && stored.range(of: Data("MenuItem".utf8)) == nil)
        let expected = try await cluster.rowCounts(database: "gwi_pos_off_trip")

        // The ops machine is gone: no backups, no reports, no saved state. gwi-fleet's temporary
        // files go to a directory of this test's own, so other tests' downloads are not counted.
        let temporary = directory.path + "/tmp"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        environment["TMPDIR"] = temporary
        try FileManager.default.removeItem(atPath: directory.path + "/backups")
        try FileManager.default.removeItem(atPath: directory.path + "/reports")
        let listed = try await gwi(["backups", "--remote"], directory, environment)
        #expect(listed.status == 0 && listed.stdout.contains(name) && listed.stdout.contains("complete"), "\(listed.stdout)\(listed.stderr)")
        let verified = try await gwi(["verify", "--from", "remote"], directory, environment)
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        // The report names the backup where it lives, not the staging copy that is gone.
        let verifiedFile = ((try directory.report()["venues"] as? [[String: Any]])?.first?["backups"] as? [[String: Any]])?.first?["file"] as? String
        #expect(verifiedFile?.hasPrefix("offsite") == true && verifiedFile?.hasSuffix("/off_trip/" + name) == true, "\(verifiedFile ?? "")")
        #expect(try await gwi(["backups", "--remote"], directory, environment).stdout.contains("verified"))
        let restored = try await gwi(["restore", "off_trip", "--as", "gwi_off_trip_back", "--from", "remote"], directory, environment)
        #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        #expect(try await cluster.rowCounts(database: "gwi_off_trip_back") == expected)
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE gwi_off_trip_back")
        // Nothing of the download is left behind.
        #expect((try FileManager.default.contentsOfDirectory(atPath: temporary)).isEmpty)
    }

    @Test func anUnreachableRemoteFailsTheVenueKeepsTheBackupAndUploadCatchesUp() async throws {
        try await cluster.createVenue(database: "gwi_pos_off_down")
        let (directory, _, environment, bucket) = try await fleet("off_down")
        var down = environment
        down["RCLONE_CONFIG_OFFSITE_ENDPOINT"] = "http://127.0.0.1:1"
        let failed = try await gwi(["backup"], directory, down)
        #expect(failed.status == 1)
        let row = venue(try directory.report(), "off_down")
        #expect((row["error"] as? String)?.contains("offsite copy failed") == true, "\(row)")
        #expect((row["error"] as? String)?.contains("is complete and counted") == true)
        let local = try #require(row["file"] as? String)
        #expect(FileManager.default.fileExists(atPath: local))
        #expect(!(row["error"] as? String ?? "").contains("testing-secret"))
        let upload = try await gwi(["upload"], directory, environment)
        #expect(upload.status == 0, "\(upload.stdout)\(upload.stderr)")
        #expect(venue(try directory.report(), "off_down")["uploaded"] as? [String] == [URL(fileURLWithPath: local).lastPathComponent])
        #expect(try await rclone(["lsf", "offsite:\(bucket)/fleet/off_down"], environment).contains(".manifest.json"))
        // Idempotent.
        #expect(try await gwi(["upload"], directory, environment).status == 0)
        #expect(venue(try directory.report(), "off_down")["uploaded"] as? [String] == [])
    }

    @Test func aRemoteObjectAlteredAfterUploadIsCorruptThere() async throws {
        try await cluster.createVenue(database: "gwi_pos_off_rot")
        let (directory, _, environment, bucket) = try await fleet("off_rot")
        #expect(try await gwi(["backup"], directory, environment).status == 0)
        let file = try #require(venue(try directory.report(), "off_rot")["file"] as? String)
        let name = URL(fileURLWithPath: file).lastPathComponent
        // Same size, one byte changed, put back on the remote behind gwi-fleet's back.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[bytes.count / 2] ^= 0x01
        let altered = directory.path + "/altered"
        try bytes.write(to: URL(fileURLWithPath: altered))
        _ = try await rclone(["copyto", altered, "offsite:\(bucket)/fleet/off_rot/\(name)"], environment)
        let listed = try await gwi(["backups", "--remote"], directory, environment)
        #expect(listed.status == 1)
        #expect(listed.stdout.contains("corrupt") && listed.stdout.contains("MD5"), "\(listed.stdout)")
        let verify = try await gwi(["verify", "--from", "remote"], directory, environment)
        #expect(verify.status == 1, "\(verify.stdout)")
    }

    @Test func anInterruptedUploadLeavesNoRemoteManifest() async throws {
        try await cluster.createVenue(database: "gwi_pos_off_int")
        let (directory, _, environment, bucket) = try await fleet("off_int")
        let run = Task { try await gwi(["backup"], directory, environment) }
        // Freeze rclone the moment it starts uploading the dump, then interrupt gwi-fleet.
        let frozen = await ProcessTable.freezeFirst(commandContaining: ["rclone", "copyto", "off_int", ".dump.zst.age"], timeout: .seconds(60))
        #expect(frozen != nil)
        for pid in ProcessTable.pids(commandContaining: [CLI.executable, directory.fleet]) { kill(pid, SIGINT) }
        let result = try await run.value
        if let frozen { kill(frozen, SIGKILL) }
        #expect(result.status == 130, "\(result.stdout)\(result.stderr)")
        let listing = (try? await rclone(["lsf", "offsite:\(bucket)/fleet/off_int"], environment)) ?? ""
        #expect(!listing.contains(".manifest.json"), "\(listing)")
        let remote = try await gwi(["backups", "--remote"], directory, environment)
        #expect(!remote.stdout.contains(" complete") && !remote.stdout.contains("verified"), "\(remote.stdout)")
    }

    @Test func anSFTPRemoteWithoutHashesIsCheckedByReadingTheCopyBack() async throws {
        try await cluster.createVenue(database: "gwi_pos_off_sftp")
        let sftp = SFTPServer.shared
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              backup:
                remote:
                  url: sftpbox:gwi/fleet
            venues:
              - slug: off_sftp
            """)
        let environment = sftp.rcloneEnvironment(remote: "sftpbox")
        let backup = try await gwi(["backup"], directory, environment)
        #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
        let row = venue(try directory.report(), "off_sftp")
        #expect((row["offsite"] as? [String: Any])?["status"] as? String == "verified")
        let file = try #require(row["file"] as? String)
        let copy = sftp.directory + "/gwi/fleet/off_sftp/" + URL(fileURLWithPath: file).lastPathComponent
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == Data(contentsOf: URL(fileURLWithPath: file)))
        let listed = try await gwi(["backups", "--remote"], directory, environment)
        #expect(listed.status == 0 && listed.stdout.contains("complete"), "\(listed.stdout)\(listed.stderr)")
        #expect(!(backup.stdout + backup.stderr + listed.stdout).contains("sftp-test-secret"))
    }
}

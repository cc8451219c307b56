import Foundation
import Testing
import TestSupport

/// The third fault drill's `verify` and age identity items, through the executable (numbered as in
/// the drill's list).
@Suite(.timeLimit(.minutes(5))) struct VerifyDrillCLITests {
    let cluster = TestCluster.shared

    func venue(_ report: [String: Any], _ slug: String) -> [String: Any] {
        (report["venues"] as? [[String: Any]] ?? []).first { $0["slug"] as? String == slug } ?? [:]
    }

    /// A fresh age identity in a directory of its own: (identity file, its recipient, the key).
    func ageIdentity() async throws -> (path: String, recipient: String, key: String) {
        let keys = try FleetDirectory("version: 1\nvenues: []\n")
        let path = keys.path + "/identity.txt"
        try await Shell.runInBackground("/usr/bin/env", ["age-keygen", "-o", path])
        let recipient = try await Shell.runInBackground("/usr/bin/env", ["age-keygen", "-y", path]).trimmingCharacters(in: .whitespacesAndNewlines)
        let key = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("AGE-SECRET-KEY-") }.map(String.init)
        return (path, recipient, try #require(key))
    }

    /// Every regular file below `directory` whose bytes hold `secret`.
    static func files(below directory: String, holding secret: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: directory)
        return (enumerator?.allObjects as? [String] ?? []).filter { name in
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { return false }
            return data.range(of: Data(secret.utf8)) != nil
        }
    }

    // 7 and 18. `"s.x".t` and `s."x.t"` were both `s.x.t`: one was never compared. And a failed
    // verify wrote `"backups": null`: its mismatches were missing from the report.
    @Test func twoTablesWhoseNamesJoinAlikeAreComparedApartAndAFailedVerifyReportsItsMismatches() async throws {
        try await cluster.createVenue(database: "gwi_pos_dotted")
        try await cluster.psql(database: "gwi_pos_dotted", sql: """
            CREATE SCHEMA "s.x"; CREATE SCHEMA s;
            CREATE TABLE "s.x".t (id int); INSERT INTO "s.x".t SELECT generate_series(1, 2);
            CREATE TABLE s."x.t" (id int); INSERT INTO s."x.t" SELECT generate_series(1, 5);
            """)
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: dotted
            """)
        let backup = try await CLI.run(["backup", "--fleet", directory.fleet])
        #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
        let file = try #require(venue(try directory.report(), "dotted")["file"] as? String)
        let manifestPath = file.replacingOccurrences(of: ".dump.zst", with: ".manifest.json")
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath))) as? [String: Any])
        var counts = try #require(manifest["row_counts"] as? [String: Int])
        #expect(counts[#""s.x".t"#] == 2 && counts[#"s."x.t""#] == 5, "\(counts)")
        #expect(counts["public.Order"] != nil, "ordinary names keep their plain key")
        let tables = counts.count

        let verified = try await CLI.run(["verify", "--fleet", directory.fleet])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        let good = try #require((venue(try directory.report(), "dotted")["backups"] as? [[String: Any]])?.first)
        #expect(good["tables_matched"] as? Int == tables && good["tables"] as? Int == tables)

        // The manifest says one more row in s."x.t" than the dump holds: that table, and only it, mismatches.
        counts[#"s."x.t""#] = 6
        manifest["row_counts"] = counts
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: manifestPath))
        let failed = try await CLI.run(["verify", "--fleet", directory.fleet])
        #expect(failed.status == 1, "\(failed.stdout)\(failed.stderr)")
        let row = venue(try directory.report(), "dotted")
        #expect(row["status"] as? String == "failed")
        let backups = try #require(row["backups"] as? [[String: Any]], "a failed verify's report has its backups: \(row)")
        let result = try #require(backups.first)
        #expect(result["file"] as? String == file)
        #expect(result["ok"] as? Bool == false && result["checksum_ok"] as? Bool == true && result["restore_ok"] as? Bool == true)
        #expect(result["tables_matched"] as? Int == tables - 1 && result["tables"] as? Int == tables)
        let mismatches = try #require(result["mismatches"] as? [[String: Any]])
        #expect(mismatches.count == 1)
        #expect(mismatches.first?["table"] as? String == #"s."x.t""#)
        #expect(mismatches.first?["expected"] as? Int == 6 && mismatches.first?["actual"] as? Int == 5)
        #expect((row["summary"] as? String)?.contains(#"s."x.t" expected 6, got 5"#) == true, "\(row)")
    }

    // 18. A damaged backup: the failed verify's report still says what was checked.
    @Test func aDamagedBackupsFailedVerifyReportsItsChecksum() async throws {
        try await cluster.createVenue(database: "gwi_pos_damaged_report")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: damaged-report
                database: gwi_pos_damaged_report
            """)
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        let file = try #require(venue(try directory.report(), "damaged-report")["file"] as? String)
        let handle = try #require(FileHandle(forUpdatingAtPath: file))
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data(repeating: 0x42, count: 16))
        try handle.close()
        let failed = try await CLI.run(["verify", "--fleet", directory.fleet])
        #expect(failed.status == 1)
        let row = venue(try directory.report(), "damaged-report")
        let result = try #require((row["backups"] as? [[String: Any]])?.first, "\(row)")
        #expect(result["file"] as? String == file)
        #expect(result["checksum_ok"] as? Bool == false && result["restore_ok"] as? Bool == false && result["ok"] as? Bool == false)
        #expect((result["error"] as? String)?.contains("checksum mismatch") == true, "\(result)")
    }

    // 13. `backup` demanded the decrypt-only identity variable (exit 2 when unset), forcing the
    // private key onto the backup host; an identity file anyone could read was used silently.
    @Test func backupNeedsNoIdentityAndAnIdentityFileOthersCanReadIsRefused() async throws {
        try await cluster.createVenue(database: "gwi_pos_keyless")
        let (identity, recipient, key) = try await ageIdentity()
        let fleet = { (encrypt: String) in
            try FleetDirectory("""
                version: 1
                defaults:
                  url: \(cluster.urlTemplate)
                  backup:
                    encrypt: {recipients: [\(recipient)], \(encrypt)}
                venues:
                  - slug: keyless
                """)
        }
        let byVariable = try fleet("identity_env: GWI_TEST_KEYLESS_IDENTITY")
        let backup = try await CLI.run(["backup", "--fleet", byVariable.fleet], unsetting: ["GWI_TEST_KEYLESS_IDENTITY"])
        #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
        #expect((venue(try byVariable.report(), "keyless")["file"] as? String)?.hasSuffix(".age") == true)
        // Verifying needs it: without it the run fails and the backup is not judged.
        let unset = try await CLI.run(["verify", "--fleet", byVariable.fleet], unsetting: ["GWI_TEST_KEYLESS_IDENTITY"])
        #expect(unset.status == 1)
        let unsetRow = venue(try byVariable.report(), "keyless")
        #expect((unsetRow["error"] as? String)?.contains("GWI_TEST_KEYLESS_IDENTITY is not set") == true, "\(unsetRow)")
        let set = try await CLI.run(["verify", "--fleet", byVariable.fleet], environment: ["GWI_TEST_KEYLESS_IDENTITY": key])
        #expect(set.status == 0, "\(set.stdout)\(set.stderr)")

        // The identity file readable by its group: refused, as ssh refuses such a key.
        let byFile = try fleet("identity_file: \(identity)")
        #expect(try await CLI.run(["backup", "--fleet", byFile.fleet]).status == 0)
        chmod(identity, 0o640)
        let open = try await CLI.run(["verify", "--fleet", byFile.fleet], unsetting: ["GWI_FLEET_ALLOW_OPEN_IDENTITY"])
        #expect(open.status == 1)
        let openRow = venue(try byFile.report(), "keyless")
        #expect((openRow["error"] as? String)?.contains("permissions 0640 for the age identity file \(identity) are too open") == true, "\(openRow)")
        #expect((openRow["error"] as? String)?.contains("chmod 600") == true)
        let listed = try await CLI.run(["backups", "--fleet", byFile.fleet])
        #expect(!listed.stdout.contains("corrupt"), "a refused identity judges no backup: \(listed.stdout)")
        // The documented override, then the key made private again: both verify.
        let allowed = try await CLI.run(["verify", "--fleet", byFile.fleet], environment: ["GWI_FLEET_ALLOW_OPEN_IDENTITY": "1"])
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
        chmod(identity, 0o600)
        let closed = try await CLI.run(["verify", "--fleet", byFile.fleet], unsetting: ["GWI_FLEET_ALLOW_OPEN_IDENTITY"])
        #expect(closed.status == 0, "\(closed.stdout)\(closed.stderr)")
    }

    // 11. `identity_env`'s key was written to `$TMPDIR/gwi-fleet-identity-*/identity.txt`, which a
    // killed run left behind. Now it is never on disk: age reads it from a memory file of ours.
    @Test func anIdentityFromTheEnvironmentIsNeverOnDiskEvenWhenVerifyIsKilled() async throws {
        try await cluster.createVenue(database: "gwi_pos_killed_key")
        let (_, recipient, key) = try await ageIdentity()
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              backup:
                encrypt: {recipients: [\(recipient)], identity_env: GWI_TEST_KILLED_KEY}
            venues:
              - slug: killed-key
                database: gwi_pos_killed_key
            """)
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        // gwi-fleet's temporary files go to a directory of this test's own; an older version's
        // leftover identity is waiting there.
        let temporary = directory.path + "/tmp"
        let stale = temporary + "/gwi-fleet-identity-0D1D0D1D"
        try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
        try Data("# old\n\(key)\n".utf8).write(to: URL(fileURLWithPath: stale + "/identity.txt"))

        // An `age` first on PATH that notes how it was called and whether it can read the
        // identity, then holds the decryption open until its parent, gwi-fleet, is gone.
        let tools = directory.path + "/tools"
        try FileManager.default.createDirectory(atPath: tools, withIntermediateDirectories: true)
        try Shell.installExecutable("""
            #!/bin/sh
            if [ "$1" = "-d" ]; then
              grep -c AGE-SECRET-KEY- "$3" > \(directory.path)/age.read
              echo "$PPID $3" > \(directory.path)/age.args.partial && mv \(directory.path)/age.args.partial \(directory.path)/age.args
              while kill -0 "$PPID" 2>/dev/null; do sleep 0.05; done
              exit 1
            fi
            exec /usr/bin/age "$@"

            """, at: tools + "/age")
        var environment = ProcessInfo.processInfo.environment
        environment["GWI_TEST_KILLED_KEY"] = key
        environment["TMPDIR"] = temporary
        environment["PATH"] = tools + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        let verify = try Shell.spawn(CLI.executable, ["verify", "--fleet", directory.fleet], environment: environment,
                                     stdout: directory.path + "/verify.out", stderr: directory.path + "/verify.err")
        var arguments: String?
        var exitedEarly: Int32?
        let deadline = ContinuousClock.now + .seconds(120)
        while arguments == nil, exitedEarly == nil, ContinuousClock.now < deadline {
            arguments = try? String(contentsOfFile: directory.path + "/age.args", encoding: .utf8)
            if arguments == nil {
                exitedEarly = KilledRecoveryTests.exitStatus(verify, wait: false)
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        guard let arguments else {
            if exitedEarly == nil { kill(verify, SIGKILL); _ = KilledRecoveryTests.exitStatus(verify, wait: true) }
            let log = ["verify.out", "verify.err"].map { (try? String(contentsOfFile: directory.path + "/" + $0, encoding: .utf8)) ?? "" }.joined()
            Issue.record("age was never started (gwi-fleet exited \(exitedEarly.map(String.init) ?? "no")): \(log)")
            return
        }
        // While age decrypts: it reads the key from gwi-fleet's memory file, which is on no disk.
        let parts = arguments.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
        #expect(parts.count == 2 && parts[0] == String(verify), "\(arguments)")
        let identityPath = parts.last ?? ""
        #expect(identityPath.hasPrefix("/proc/\(verify)/fd/"), "\(identityPath)")
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: identityPath)) ?? ""
        #expect(target.hasPrefix("/memfd:"), "\(target)")
        #expect((try? String(contentsOfFile: directory.path + "/age.read", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        #expect(!FileManager.default.fileExists(atPath: stale), "an older version's identity is removed")
        #expect(Self.files(below: directory.path, holding: key).isEmpty)

        #expect(kill(verify, SIGKILL) == 0)
        #expect(KilledRecoveryTests.exitStatus(verify, wait: true) == 128 + SIGKILL)
        #expect(Self.files(below: directory.path, holding: key).isEmpty, "a killed run leaves no key behind")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []).filter { $0.hasPrefix("gwi-fleet-identity-") }.isEmpty)

        // The real age decrypts with it: the backup verifies.
        let again = try await CLI.run(["verify", "--fleet", directory.fleet], environment: ["GWI_TEST_KILLED_KEY": key, "TMPDIR": temporary])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(Self.files(below: directory.path, holding: key).isEmpty)
    }

    // 8. Through the executable: the run fails naming the role, and `status` shows the failed run
    // without calling the backup corrupt.
    @Test func aScratchServerWithoutTheBackupsRoleShowsAFailedRunInStatusNotACorruptBackup() async throws {
        let role = "gwi_ghost_\(UUID().uuidString.prefix(8).lowercased())"
        try await cluster.createVenue(database: "gwi_pos_ghost_status")
        try await cluster.psql(database: "gwi_pos_ghost_status", sql: "CREATE ROLE \(role); GRANT SELECT ON public.\"Order\" TO \(role)")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              backup: {format: plain}
            venues:
              - slug: ghost-status
                database: gwi_pos_ghost_status
            """)
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        try await cluster.psql(database: "gwi_pos_ghost_status", sql: "DROP OWNED BY \(role); DROP ROLE \(role)")
        let verify = try await CLI.run(["verify", "--fleet", directory.fleet])
        #expect(verify.status == 1)
        let row = venue(try directory.report(), "ghost-status")
        #expect((row["error"] as? String)?.contains("the scratch server lacks role \"\(role)\"") == true, "\(row)")
        let backup = try #require((row["backups"] as? [[String: Any]])?.first)
        #expect((backup["verify_failed"] as? String)?.contains("set verify.no_owner: true") == true, "\(backup)")

        let status = try await CLI.run(["status", "--json", "--fleet", directory.fleet])
        let venues = (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["venues"] as? [[String: Any]] ?? []
        let statusRow = try #require(venues.first { $0["slug"] as? String == "ghost-status" }, "\(status.stdout)")
        #expect(statusRow["verdict"] as? String != "corrupt-latest", "\(statusRow)")
        #expect((statusRow["latest_backup"] as? [String: Any])?["state"] as? String == "complete")
        #expect((statusRow["last_verify_run"] as? String)?.contains("lacks role \"\(role)\"") == true, "\(statusRow)")
        let table = try await CLI.run(["status", "--fleet", directory.fleet])
        #expect(table.stdout.contains("last verify run failed") && !table.stdout.contains("corrupt"), "\(table.stdout)")
    }
}

import Foundation
import Testing
import TestSupport

/// A fleet run split across processes as a Kubernetes Indexed Job would run it, and its merge.
@Suite(.serialized) struct ShardCLITests {
    let cluster = TestCluster.shared

    /// 40 empty venue databases and a fleet file listing them.
    func fleet() async throws -> FleetDirectory {
        var yaml = "version: 1\ndefaults:\n  url: \(cluster.urlTemplate)\n  jobs: 2\nvenues:\n"
        for index in 1...40 {
            try await cluster.createDatabase("gwi_pos_shard_\(index)")
            yaml += "  - slug: shard-\(index)\n"
        }
        return try FleetDirectory(yaml)
    }

    func shardReports(_ directory: FleetDirectory) -> [String] { directory.reports.filter { $0.contains("-shard") } }

    @Test func fourShardsBackUpEveryVenueOnceAndMergeIntoOneReport() async throws {
        let directory = try await fleet()
        let runID = "night-\(UUID().uuidString.prefix(8).lowercased())"
        let results = try await withThrowingTaskGroup(of: (Int, Int32).self) { group in
            for index in 0..<4 {
                group.addTask {
                    let result = try await CLI.run(["backup", "--shard-count", "4", "--fleet", directory.fleet],
                                                   environment: ["JOB_COMPLETION_INDEX": String(index), "GWI_RUN_ID": runID])
                    return (index, result.status)
                }
            }
            return try await group.reduce(into: [Int: Int32]()) { $0[$1.0] = $1.1 }
        }
        #expect(results == [0: 0, 1: 0, 2: 0, 3: 0])
        // Each venue backed up exactly once.
        for index in 1...40 {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path + "/backups/shard-\(index)")) ?? []
            #expect(files.filter { $0.hasSuffix(".dump.zst") }.count == 1, "shard-\(index): \(files)")
        }
        let shards = shardReports(directory)
        #expect(shards.count == 4 && Set(shards.map { URL(fileURLWithPath: $0).lastPathComponent }).count == 4)
        let merged = try await CLI.run(["report", "merge", "--run-dir", directory.path + "/reports", "--json"])
        #expect(merged.status == 0, "\(merged.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(merged.stdout.utf8)) as? [String: Any] ?? [:]
        let venues = report["venues"] as? [[String: Any]] ?? []
        #expect(venues.count == 40 && venues.allSatisfy { $0["status"] as? String == "ok" })
        #expect(venues.map { $0["slug"] as? String } == (1...40).map { "shard-\($0)" })
        #expect((report["shard"] as? [String: Any])?["merged_from"] as? Int == 4)
        #expect(report["run_id"] as? String == runID)
        // It renders like any report.
        let mergedFile = try #require(directory.reports.first { $0.hasSuffix("-merged.json") })
        #expect(try await CLI.run(["report", mergedFile]).stdout.contains("40 ok, 0 failed, 0 skipped"))

        // A shard report missing: the merge fails and names the venues nobody covered.
        let removed = shards[1]
        let removedVenues = Set(((try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: removed))) as? [String: Any])?["venues"]
                                 as? [[String: Any]] ?? []).compactMap { $0["slug"] as? String })
        let rest = shards.filter { $0 != removed }
        let incomplete = try await CLI.run(["report", "merge", "--out", directory.path + "/m1.json"] + rest)
        #expect(incomplete.status == 1)
        #expect(incomplete.stderr.contains("is missing"), "\(incomplete.stderr)")
        for slug in removedVenues { #expect(incomplete.stderr.contains(slug), "\(slug)") }
        // The merged report is still written (it fails the run), privately (0600).
        let mode = (try FileManager.default.attributesOfItem(atPath: directory.path + "/m1.json")[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)

        // One shard run again with another count: its venues are covered twice, and it is another run.
        let again = try await CLI.run(["backup", "--shard", "1/3", "--fleet", directory.fleet, "--reports-dir", directory.path + "/again"])
        #expect(again.status == 0)
        let extra = try #require(((try? FileManager.default.contentsOfDirectory(atPath: directory.path + "/again")) ?? []).first { $0.hasSuffix(".json") })
        let twice = try await CLI.run(["report", "merge", "--out", directory.path + "/m2.json"] + shards + [directory.path + "/again/" + extra])
        #expect(twice.status == 1)
        #expect(twice.stderr.contains("not one run") && twice.stderr.contains("covered 2 times"), "\(twice.stderr)")

        // Reports of two different commands are refused outright.
        let check = try await CLI.run(["check", "--shard", "0/4", "--fleet", directory.fleet, "--reports-dir", directory.path + "/check"])
        #expect(check.status == 0)
        let checkReport = try #require(((try? FileManager.default.contentsOfDirectory(atPath: directory.path + "/check")) ?? []).first { $0.hasSuffix(".json") })
        let mixed = try await CLI.run(["report", "merge", "--out", directory.path + "/m3.json", shards[1], directory.path + "/check/" + checkReport])
        #expect(mixed.status == 1)
        #expect(mixed.stderr.contains("is a `check` run"), "\(mixed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/m3.json"))
    }

    /// A Kubernetes retry of a failed index runs the same shard with the same `GWI_RUN_ID`: its
    /// report replaces the failed attempt's, and the merge job, run twice, gives the same report.
    @Test func aRetriedShardReplacesItsReportAndMergingTwiceGivesTheSameReport() async throws {
        var yaml = "version: 1\ndefaults:\n  url: \(cluster.urlTemplate)\n  jobs: 2\nvenues:\n"
        for index in 1...6 { yaml += "  - slug: retry-\(index)\n" }
        let directory = try FleetDirectory(yaml)
        let plan = try await CLI.run(["validate", "--shard", "1/2", "--json", "--fleet", directory.fleet])
        let shardOne = ((try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])?["venues"] as? [[String: Any]] ?? [])
            .compactMap { $0["slug"] as? String }
        let missing = try #require(shardOne.first, "\(plan.stdout)")
        for index in 1...6 where "retry-\(index)" != missing { try await cluster.createDatabase("gwi_pos_retry_\(index)") }
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE IF EXISTS \"gwi_pos_\(missing.replacingOccurrences(of: "-", with: "_"))\" WITH (FORCE)")
        let runID = "night-\(UUID().uuidString.prefix(8).lowercased())"
        let shard = { (index: Int) in
            try await CLI.run(["backup", "--shard-count", "2", "--fleet", directory.fleet],
                              environment: ["JOB_COMPLETION_INDEX": String(index), "GWI_RUN_ID": runID])
        }
        #expect(try await shard(0).status == 0)
        let failed = try await shard(1)
        #expect(failed.status == 1 && failed.stderr.contains(missing), "\(failed.stderr)")
        let reportPath = directory.path + "/reports/backup-\(runID)-shard1of2.json"
        let statuses = { () throws -> [String: String] in
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: reportPath))) as? [String: Any]
            return Dictionary(uniqueKeysWithValues: (report?["venues"] as? [[String: Any]] ?? []).compactMap { venue in
                (venue["slug"] as? String).map { ($0, venue["status"] as? String ?? "") }
            })
        }
        #expect(try statuses()[missing] == "failed")

        // The retry, after the cause is fixed: it saves its report over the failed attempt's.
        try await cluster.createDatabase("gwi_pos_\(missing.replacingOccurrences(of: "-", with: "_"))")
        let retry = try await shard(1)
        #expect(retry.status == 0, "\(retry.stdout)\(retry.stderr)")
        #expect(!retry.stderr.contains("File exists"), "\(retry.stderr)")
        #expect(try statuses() == Dictionary(uniqueKeysWithValues: shardOne.map { ($0, "ok") }))
        #expect(shardReports(directory).count == 2, "\(directory.reports)")

        // The merge, run twice (a retried merge job): the same one report both times, every venue ok.
        let first = try await CLI.run(["report", "merge", "--run-dir", directory.path + "/reports", "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try await CLI.run(["report", "merge", "--run-dir", directory.path + "/reports", "--json"])
        #expect(second.status == 0, "\(second.stderr)")
        let merged = directory.reports.filter { $0.hasSuffix("-merged.json") }
        #expect(merged == [directory.path + "/reports/backup-\(runID)-merged.json"], "\(directory.reports)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: merged[0]))) as? [String: Any] ?? [:]
        let venues = report["venues"] as? [[String: Any]] ?? []
        #expect(venues.count == 6 && venues.allSatisfy { $0["status"] as? String == "ok" }, "\(venues)")
        #expect((report["shard"] as? [String: Any])?["merged_from"] as? Int == 2)
        #expect(second.stdout == (try String(contentsOfFile: merged[0], encoding: .utf8)))
    }

    @Test func validatePrintsTheAssignmentAndTheBalance() async throws {
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://ops@db.example.internal/{database}
            venues:
              - slug: joes-bar
              - slug: airport
              - slug: harbor-view
              - slug: downtown
            """)
        let result = try await CLI.run(["validate", "--shard-count", "4", "--fleet", directory.fleet])
        #expect(result.status == 0)
        #expect(result.stdout.contains("shards: 0: 1, 1: 1, 2: 1, 3: 1 (ideal 1.0, furthest 0.0% off)"), "\(result.stdout)")
        let one = try await CLI.run(["validate", "--shard", "2/4", "--json", "--fleet", directory.fleet])
        let venues = (try JSONSerialization.jsonObject(with: Data(one.stdout.utf8)) as? [String: Any])?["venues"] as? [[String: Any]]
        #expect(venues?.compactMap { $0["slug"] as? String } == ["airport"])
        let missingIndex = try await CLI.run(["backup", "--shard-count", "4", "--fleet", directory.fleet])
        #expect(missingIndex.status == 2 && missingIndex.stderr.contains("JOB_COMPLETION_INDEX"))
    }
}

/// The deployment recipes in deploy/ pass their own validators.
@Suite struct DeployRecipeTests {
    @Test func theKubernetesManifestsPassStrictValidation() async throws {
        let result = try await Shell.captureInBackground("/usr/bin/env", ["kubernetes-validate", "--strict", "--no-warn",
                                                                          Repository.root + "/deploy/kubernetes/gwi-fleet.yaml"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("passed for resource cronjob/gwi-fleet-backup"))
        #expect(!result.stdout.contains("failed"))
        let manifest = try String(contentsOfFile: Repository.root + "/deploy/kubernetes/gwi-fleet.yaml", encoding: .utf8)
        for needed in ["completionMode: Indexed", "concurrencyPolicy: Forbid", "timeZone:", "backoffLimitPerIndex:", "values: [2]",
                       "--shard-count", "report, merge"] {
            #expect(manifest.contains(needed), "\(needed)")
        }
    }

    @Test func theSystemdUnitsVerifyCleanly() async throws {
        let directory = try FileManager.default.url(for: .itemReplacementDirectory, in: .userDomainMask,
                                                    appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true).path
        let units = try FileManager.default.contentsOfDirectory(atPath: Repository.root + "/deploy/systemd").sorted()
        #expect(units.count == 11, "\(units)")
        // verify checks that ExecStart exists: point it at the gwi-fleet these tests built.
        for unit in units {
            let text = try String(contentsOfFile: Repository.root + "/deploy/systemd/" + unit, encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/gwi-fleet", with: CLI.executable)
            try text.write(toFile: directory + "/" + unit, atomically: true, encoding: .utf8)
        }
        let result = try await Shell.captureInBackground("/usr/bin/env", ["systemd-analyze", "verify"] + units.map { directory + "/" + $0 })
        #expect(result.status == 0 && result.stdout.isEmpty && result.stderr.isEmpty, "\(result.stdout)\(result.stderr)")
        for name in ["backup", "verify", "status", "backups-check", "leftovers"] {
            let service = try String(contentsOfFile: Repository.root + "/deploy/systemd/gwi-fleet-\(name).service", encoding: .utf8)
            let timer = try String(contentsOfFile: Repository.root + "/deploy/systemd/gwi-fleet-\(name).timer", encoding: .utf8)
            for needed in ["Type=oneshot", "TimeoutStartSec=", "User=gwi-fleet\n", "StateDirectory=gwi-fleet\n", "ProtectSystem=strict\n",
                           "NoNewPrivileges=yes\n", "PrivateTmp=yes\n", "OnFailure=gwi-fleet-failure@%n.service\n"] {
                #expect(service.contains(needed), "\(name): \(needed)")
            }
            #expect(timer.contains("Persistent=true") && timer.contains("RandomizedDelaySec="), "\(name)")
        }
    }

    @Test func theCronLinesAreWellFormedAndLocked() throws {
        let lines = try String(contentsOfFile: Repository.root + "/deploy/cron/gwi-fleet", encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.contains("=") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        #expect(lines.count == 7)
        for line in lines {
            #expect(!line.replacingOccurrences(of: "\\%", with: "").contains("%"), "cron ends the command at an unescaped %: \(line)")
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            #expect(fields.count > 8, "\(line)")
            for field in fields.prefix(5) { #expect(field.allSatisfy { $0.isNumber || "*/,-".contains($0) }, "\(line)") }
            #expect(fields[5] == "gwi-fleet" && fields[6] == "gwi-fleet-cron" && fields.dropFirst(8).contains("gwi-fleet"), "\(line)")
        }
        // The command part, and the wrapper that takes the lock, parse as shell.
        let commands = lines.map { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(6).joined(separator: " ") }
        #expect(try Shell.capture("/bin/sh", ["-n", "-c", commands.joined(separator: "\n")]).status == 0)
        #expect(try Shell.capture("/bin/sh", ["-n", Repository.root + "/deploy/cron/gwi-fleet-cron"]).status == 0)
    }
}

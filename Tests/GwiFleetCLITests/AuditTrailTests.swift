import Foundation
import Testing
import TestSupport

/// Issue 21.7: nothing recorded who restored, migrated, pruned or dropped what. Every run that
/// changes something appends one line to `reports/audit.jsonl`, secrets redacted.
@Suite struct AuditTrailTests {
    let cluster = TestCluster.shared

    func trail(_ directory: FleetDirectory) throws -> [[String: Any]] {
        let path = directory.path + "/reports/audit.jsonl"
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not one JSON object: \(line)")
        }
    }

    @Test func everyRunThatChangesSomethingAppendsOneRedactedLineAndRetentionKeepsIt() async throws {
        try await cluster.createVenue(database: "gwi_pos_audit_one")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              password_env: GWI_AUDIT_PASSWORD
            reports:
              keep_days: 1
            venues:
              - slug: audit_one
            """)
        let environment = ["GWI_AUDIT_PASSWORD": "pw-audit-9f3k2", "DEPLOY_TOKEN": "tok-audit-77x1q"]
        func run(_ arguments: [String]) async throws -> Int32 {
            try await CLI.run([arguments[0], "--fleet", directory.fleet] + arguments.dropFirst(), environment: environment).status
        }
        // Runs that change nothing leave no line.
        #expect(try await run(["backup"]) == 0)
        #expect(try await run(["prune", "--dry-run"]) == 0)
        #expect(try await run(["check"]) == 0)
        #expect(try trail(directory).isEmpty)

        #expect(try await run(["backup", "--prune"]) == 0)
        #expect(try await run(["prune"]) == 0)
        #expect(try await run(["restore", "audit_one", "--as", "gwi_audit_one_copy"]) == 0)
        // A command line full of secrets: a URL password, the fleet's password variable's value,
        // a token from the environment, NAME=value and an option's value.
        let exec = try await run(["exec", "--no-backup", "--venue", "audit_one", "--", "sh", "-c", "exit 3", "sh",
                                  "postgresql://app:hunter22-url@db.example/x", "pw-audit-9f3k2", "tok-audit-77x1q",
                                  "API_KEY=key-audit-5512", "--password", "pass-audit-0042"])
        #expect(exec == 1)
        try await cluster.psql(database: "postgres", sql: "DROP DATABASE gwi_audit_one_copy")

        let lines = try trail(directory)
        #expect(lines.map { $0["command"] as? String } == ["backup", "prune", "restore", "exec"], "\(lines)")
        let reports = Set(directory.reports.map { URL(fileURLWithPath: $0).lastPathComponent })
        for line in lines {
            #expect(line["user"] as? String == NSUserName() && line["host"] as? String == ProcessInfo.processInfo.hostName, "\(line)")
            #expect(line["time"] is String && (line["command_line"] as? [String])?.contains("--fleet") == true, "\(line)")
            let report = try #require(line["report"] as? String)
            let runID = try #require(line["run_id"] as? String)
            #expect(reports.contains(URL(fileURLWithPath: report).lastPathComponent) && report.contains(runID))
            let venues = line["venues"] as? [[String: Any]] ?? []
            #expect(venues.map { $0["venue"] as? String } == ["audit_one"], "\(line)")
        }
        #expect(lines[2]["result"] as? String == "ok" && lines[2]["exit_code"] as? Int == 0)
        #expect(lines[3]["result"] as? String == "failed" && lines[3]["exit_code"] as? Int == 1)
        #expect(((lines[3]["venues"] as? [[String: Any]])?.first?["status"] as? String) == "failed")
        let text = try String(contentsOfFile: directory.path + "/reports/audit.jsonl", encoding: .utf8)
        for secret in ["hunter22-url", "pw-audit-9f3k2", "tok-audit-77x1q", "key-audit-5512", "pass-audit-0042"] {
            #expect(!text.contains(secret), "\(secret) in the audit trail")
        }
        let commandLine = lines[3]["command_line"] as? [String] ?? []
        #expect(commandLine.contains("postgresql://app:***@db.example/x") && commandLine.contains("API_KEY=***")
                && commandLine.contains("--password") && commandLine.filter { $0 == "***" }.count == 3, "\(commandLine)")
        let mode = try FileManager.default.attributesOfItem(atPath: directory.path + "/reports/audit.jsonl")[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // Report retention (keep_days: 1) removes old reports, never the trail.
        let old = Date(timeIntervalSinceNow: -10 * 86_400)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: directory.path + "/reports/audit.jsonl")
        for report in directory.reports { try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: report) }
        #expect(try await run(["leftovers", "--drop", "--yes", "--older-than", "0s"]) == 0)
        #expect(try await run(["check"]) == 0)
        #expect(directory.reports.count == 1, "old reports went: \(directory.reports)")
        let after = try trail(directory)
        #expect(after.count == 5 && after.last?["command"] as? String == "leftovers", "\(after)")
    }
}

import Foundation
import Testing
import TestSupport

/// `gwi-fleet status`: the fleet against its policy, from the catalog alone.
@Suite struct StatusTests {
    let cluster = TestCluster.shared

    func verdicts(_ output: String) throws -> [String: String] {
        let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] ?? [:]
        return Dictionary(uniqueKeysWithValues: (json["venues"] as? [[String: Any]] ?? []).map { ($0["slug"] as? String ?? "", $0["verdict"] as? String ?? "") })
    }

    @Test func statusNamesFailedCorruptAndStaleVenuesAndPassesAHealthyFleet() async throws {
        for slug in ["st_good", "st_failed", "st_corrupt", "st_stale"] { try await cluster.createVenue(database: "gwi_pos_\(slug)") }
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            policy:
              max_backup_age: 26h
              max_verify_age: 8d
            venues:
              - slug: st_good
              - slug: st_failed
              - slug: st_corrupt
              - slug: st_stale
            """)
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        #expect(try await CLI.run(["verify", "--fleet", directory.fleet]).status == 0)
        #expect(try await CLI.run(["status", "--fleet", directory.fleet]).status == 0, "every venue fresh and verified")

        // st_failed: its next attempt fails. st_corrupt: its newest backup is damaged. st_stale: its
        // only backup (and its restore test) dates from three days ago.
        try await cluster.psql(database: "postgres", sql: "ALTER DATABASE gwi_pos_st_failed RENAME TO gwi_pos_st_failed_away")
        _ = try await CLI.run(["backup", "--venue", "st_failed", "--fleet", directory.fleet])
        try await cluster.psql(database: "postgres", sql: "ALTER DATABASE gwi_pos_st_failed_away RENAME TO gwi_pos_st_failed")
        let corruptDir = directory.path + "/backups/st_corrupt"
        let dump = try #require(try FileManager.default.contentsOfDirectory(atPath: corruptDir).first { $0.hasSuffix(".dump.zst") })
        try Data("x".utf8).write(to: URL(fileURLWithPath: corruptDir + "/" + dump))
        let staleDir = directory.path + "/backups/st_stale"
        for name in try FileManager.default.contentsOfDirectory(atPath: staleDir) where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let path = staleDir + "/" + name
            var text = try String(contentsOfFile: path, encoding: .utf8)
            let threeDaysAgo = Date().addingTimeInterval(-3 * 86_400)
            let stamp = ISO8601DateFormatter().string(from: threeDaysAgo)
            text = text.replacingOccurrences(of: #""(started_at|finished_at|verified_at)" ?: "[^"]+""#, with: "\"$1\": \"\(stamp)\"", options: .regularExpression)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }

        let result = try await CLI.run(["status", "--json", "--fleet", directory.fleet])
        #expect(result.status == 1)
        #expect(try verdicts(result.stdout) == ["st_good": "ok", "st_failed": "failed", "st_corrupt": "corrupt-latest", "st_stale": "stale"])
        let table = try await CLI.run(["status", "--fleet", directory.fleet])
        #expect(table.status == 1)
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.dropFirst().first?.hasPrefix("st_failed") == true, "problem venues first: \(table.stdout)")
        #expect(table.stdout.contains("3 of 4 venues break the policy"))
    }
}

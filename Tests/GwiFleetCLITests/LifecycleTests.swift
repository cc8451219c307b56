import Foundation
import PostgresClient
import Testing
import TestSupport

/// Deadlines, process trees, interruption and fleet-level failures, through the real executable.
@Suite struct LifecycleTests {
    let cluster = TestCluster.shared

    func venues(_ report: [String: Any]) -> [String: [String: Any]] {
        let list = report["venues"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: list.map { ($0["slug"] as? String ?? "", $0) })
    }

    @Test(arguments: ["check", "backup"])
    func aVenueBehindAListenerThatNeverAnswersFailsAtItsDeadlineWhileTheOthersSucceed(command: String) async throws {
        let listener = try SilentListener()
        let database = "gwi_pos_silent_\(command)"
        try await cluster.createVenue(database: database)
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: fine
                database: \(database)
              - slug: hung
                url: postgresql://postgres@127.0.0.1:\(listener.port)/gwi_pos_hung?connect_timeout=60
                timeout: 2s
            """)
        let started = ContinuousClock.now
        let result = try await CLI.run([command, "--fleet", directory.fleet])
        let elapsed = ContinuousClock.now - started
        #expect(result.status == 1, "\(result.stderr)")
        let byVenue = venues(try directory.report())
        #expect(byVenue["fine"]?["status"] as? String == "ok", "\(byVenue["fine"] ?? [:])")
        #expect(byVenue["hung"]?["status"] as? String == "failed")
        #expect((byVenue["hung"]?["error"] as? String)?.hasPrefix("timed out after 2s") == true)
        let milliseconds = byVenue["hung"]?["duration_ms"] as? Int ?? .max
        #expect(milliseconds >= 2000 && milliseconds < 3000, "hung venue reported after \(milliseconds) ms")
        #expect(elapsed < .seconds(20), "the whole run took \(elapsed)")
        withExtendedLifetime(listener) {}
    }

    @Test func aTimedOutCommandLeavesNoProcessOfItsTreeBehind() async throws {
        try await cluster.createVenue(database: "gwi_pos_tree")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: tree
            """)
        let seconds = "45.\(Int.random(in: 100_000...999_999))"
        let result = try await CLI.run(["exec", "--no-backup", "--timeout", "2s", "--fleet", directory.fleet, "--",
                                        "sh", "-c", "sleep \(seconds) & sleep \(seconds)"])
        #expect(result.status == 1)
        #expect(ProcessTable.pids(commandContaining: ["sleep", seconds]).isEmpty)
    }

    @Test func sigintDuringARollbackExecRollsTheVenueBackAndTheReportSaysHow() async throws {
        try await cluster.createVenue(database: "gwi_pos_int_rb")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              timeout: 5m
            venues:
              - slug: int_rb
            """)
        let before = try await cluster.rowCounts(database: "gwi_pos_int_rb")
        let marker = "\(Int.random(in: 100_000...999_999))"
        let run = Task {
            try await CLI.run(["exec", "--rollback", "--fleet", directory.fleet, "--", "sh", "-c",
                               #"psql -X -q "$DIRECT_URL" -c 'DELETE FROM "Audit Log"' && sleep 300.\#(marker)"#])
        }
        // Interrupt once the migration has done its damage and hangs in its sleep.
        var waited = 0
        while ProcessTable.pids(commandStartingWith: "sleep 300.\(marker)").isEmpty && waited < 600 {
            try await Task.sleep(for: .milliseconds(100))
            waited += 1
        }
        #expect(try await cluster.rowCounts(database: "gwi_pos_int_rb")["public.Audit Log"] == 0)
        for pid in ProcessTable.pids(commandContaining: [CLI.executable, directory.fleet]) { kill(pid, SIGINT) }
        let result = try await run.value
        #expect(result.status == 130, "\(result.stderr)")
        let report = try directory.report()
        #expect(report["interrupted"] as? Bool == true)
        let venue = venues(report)["int_rb"] ?? [:]
        let error = venue["error"] as? String ?? ""
        #expect(error.hasPrefix("interrupted; sh was stopped; rolled back from"), "\(error)")
        #expect((venue["backup"] as? String)?.hasSuffix(".dump.zst") == true)
        #expect(venue["rolled_back"] as? Bool == true)
        let rollback = venue["rollback"] as? [String: Any] ?? [:]
        #expect((rollback["undo"] as? String)?.contains("RENAME TO") == true, "\(rollback)")
        #expect(rollback["safety_backup"] is String)
        #expect(try await cluster.rowCounts(database: "gwi_pos_int_rb") == before)
        #expect(ProcessTable.pids(commandContaining: ["sleep", "300.\(marker)"]).isEmpty)
    }

    @Test func aCombinedExportThatCannotBeWrittenFailsTheRun() async throws {
        try await cluster.createVenue(database: "gwi_pos_comb_fail")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: comb_fail
            """)
        // The combined file's name is taken by a directory: every venue's part is fine, the join is not.
        let target = directory.path + "/orders.csv"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let result = try await CLI.run(["export", "--table", "Order", "--combined", target, "--fleet", directory.fleet])
        #expect(result.status == 1, "\(result.stderr)")
        let report = try directory.report()
        #expect(venues(report)["comb_fail"]?["status"] as? String == "ok")
        let problems = report["problems"] as? [String] ?? []
        #expect(problems.count == 1 && problems[0].hasPrefix("combined file not written"), "\(problems)")
        #expect(result.stdout.contains("problem: combined file not written"))
    }
}

@testable import FleetEngine
import FleetModel
import Foundation
import Testing
import TestSupport

/// The third drill (issue 20), discovery, reports and coverage: one test per defect found.
@Suite struct DiscoveryDrillTests {
    let cluster = TestCluster.shared

    // 19. `reports.keep_days` deleted another tool's JSON file in the reports directory.
    @Test func reportRetentionDeletesOnlyGwiFleetsOwnReports() async throws {
        let directory = try scratchDirectory("drill-keep-days")
        let venue = testVenue("keep_days", url: "postgresql://x/{database}", directory: directory)
        let fleet = Fleet(path: directory + "/fleet.yaml", venues: [venue], reportsDirectory: directory + "/reports")
        let (_, saved) = await FleetRun(command: "check", fleet: fleet, venues: [venue], handleSignals: false).run { _ in nil }
        let ours = try #require(saved)
        let notes = fleet.reportsDirectory + "/notes.json", other = fleet.reportsDirectory + "/other-tool-2020-01-01.json"
        // Another tool's files, with the fields a report has.
        try #"{"run_id": "n1", "command": "notes", "started_at": "2020-01-01T00:00:00.000Z"}"#.write(toFile: notes, atomically: true, encoding: .utf8)
        try #"{"run_id": "tool-2020-01-01", "command": "other", "started_at": "2020-01-01T00:00:00.000Z"}"#
            .write(toFile: other, atomically: true, encoding: .utf8)
        let old = Date(timeIntervalSince1970: 1_577_836_800)
        for path in [ours, notes, other] { try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path) }
        FleetRun.pruneReports(in: fleet.reportsDirectory, olderThanDays: 90, keeping: nil)
        #expect(!FileManager.default.fileExists(atPath: ours))
        #expect(FileManager.default.fileExists(atPath: notes))
        #expect(FileManager.default.fileExists(atPath: other))
    }
}

extension DiscoveryDrillTests {
    func shard(_ index: Int, of count: Int = 2, run: String, venues: [String]) -> RunReport {
        RunReport(runID: run, command: "backup", fleet: .init(path: "/f.yaml", venuesSHA256: "ab"), startedAt: Date(), finishedAt: Date(),
                  interrupted: false, outcomes: venues.map { VenueOutcome(slug: $0, database: "gwi_pos_" + $0, status: .ok) },
                  shard: .init(index: index, count: count, allVenues: ["a", "b", "c", "d"]))
    }

    // 6. `report merge` took shards of two runs as one (inventing a run id, hiding the missing shard).
    @Test func shardsOfTwoRunsAreRefusedNamingTheRuns() {
        let result = ReportMerge.merge([("monday-0.json", shard(0, run: "monday", venues: ["a", "b"])),
                                        ("tuesday-1.json", shard(1, run: "tuesday", venues: ["c", "d"]))])
        #expect(result.report == nil)
        let text = result.problems.joined(separator: "\n")
        #expect(text.contains("not one run") && text.contains("run monday (monday-0.json, shard 0/2)")
                && text.contains("run tuesday (tuesday-1.json, shard 1/2)"), "\(text)")
    }

    // 6. A shard given twice printed Swift structs with every venue, once per venue.
    @Test func aShardGivenTwiceIsOneReadableProblem() throws {
        let first = shard(0, run: "night", venues: ["a", "b"])
        let result = ReportMerge.merge([("s0.json", first), ("s0.json", first), ("s1.json", shard(1, run: "night", venues: ["c", "d"]))])
        let merged = try #require(result.report)
        #expect(result.problems == ["shard 0/2 appears 2 times: s0.json, s0.json"], "\(result.problems)")
        #expect(merged.runID == "night" && merged.outcomes.map(\.slug) == ["a", "b", "c", "d"])
        #expect(merged.exitCode == 1)
    }
}

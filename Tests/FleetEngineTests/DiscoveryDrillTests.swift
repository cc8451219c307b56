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

@testable import FleetEngine
import FleetModel
import Foundation
import Synchronization
import Testing

/// Counts how many operations run at once.
final class Concurrency: Sendable {
    private let state = Mutex((now: 0, peak: 0, started: [String]()))
    func enter(_ slug: String) { state.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now); $0.started.append(slug) } }
    func leave() { state.withLock { $0.now -= 1 } }
    var peak: Int { state.withLock { $0.peak } }
    var started: [String] { state.withLock { $0.started } }
}

struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }

@Suite struct RunnerTests {
    func venues(_ count: Int) -> [Venue] {
        (0..<count).map { testVenue("v\($0)", url: "postgresql://x/{database}", directory: "/nonexistent") }
    }

    @Test func neverRunsMoreThanJobsVenuesAtOnceAndKeepsTheOrder() async {
        let tracker = Concurrency()
        let outcomes = await FleetRunner(jobs: 3).run(venues(10)) { venue in
            tracker.enter(venue.slug)
            defer { tracker.leave() }
            try await Task.sleep(for: .milliseconds(30))
            return VenueFigures([("slug", .string(venue.slug))])
        }
        #expect(tracker.peak == 3)
        #expect(tracker.started.count == 10)
        #expect(outcomes.map(\.slug) == (0..<10).map { "v\($0)" })
        #expect(outcomes.allSatisfy { $0.status == .ok && $0.figures["slug"] == .string($0.slug) })
    }

    @Test func oneFailingVenueFailsAloneWithItsReason() async {
        let outcomes = await FleetRunner(jobs: 2).run(venues(4)) { venue in
            if venue.slug == "v1" { throw Boom() }
            try await Task.sleep(for: .milliseconds(20))
            return VenueFigures()
        }
        #expect(outcomes.map(\.status) == [.ok, .failed, .ok, .ok])
        #expect(outcomes[1].error == "boom")
    }

    @Test func disabledVenuesAreSkippedAndNeverRun() async {
        var list = venues(3)
        list[1].enabled = false
        let tracker = Concurrency()
        let outcomes = await FleetRunner(jobs: 2).run(list) { venue in
            tracker.enter(venue.slug)
            return VenueFigures()
        }
        #expect(outcomes.map(\.status) == [.ok, .skipped, .ok])
        #expect(outcomes[1].error == "disabled in the fleet file")
        #expect(!tracker.started.contains("v1"))
    }

    @Test func aVenuePastItsTimeoutIsCancelledAndFails() async {
        var list = venues(2)
        list[0].timeout = .milliseconds(200)
        let outcomes = await FleetRunner(jobs: 2).run(list) { venue in
            if venue.slug == "v0" { try await Task.sleep(for: .seconds(30)) }
            return VenueFigures()
        }
        #expect(outcomes[0].status == .failed)
        #expect(outcomes[0].error?.hasPrefix("timed out after 200ms") == true)
        #expect(outcomes[0].duration < .seconds(5))
        #expect(outcomes[1].status == .ok)
    }

    @Test func theCommandLineTimeoutOverridesTheVenues() async {
        let outcomes = await FleetRunner(jobs: 1, timeoutOverride: .milliseconds(100)).run(venues(1)) { _ in
            try await Task.sleep(for: .seconds(30))
            return VenueFigures()
        }
        #expect(outcomes[0].error?.hasPrefix("timed out after 100ms") == true)
    }

    @Test func cancellationStopsStartingVenuesAndReportsEveryOne() async throws {
        let tracker = Concurrency()
        let runner = FleetRunner(jobs: 2)
        let list = venues(6)
        let task = Task {
            await runner.run(list) { venue in
                tracker.enter(venue.slug)
                try await Task.sleep(for: .seconds(30))
                return VenueFigures()
            }
        }
        // Cancel once both slots are busy, however long the machine takes to get there.
        for _ in 0..<500 where tracker.started.count < 2 { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let outcomes = await task.value
        #expect(tracker.started.count == 2)
        #expect(outcomes.count == 6)
        #expect(outcomes.filter { $0.status == .failed }.allSatisfy { $0.error == "interrupted" })
        #expect(outcomes.filter { $0.status == .failed }.count == 2)
        #expect(outcomes.filter { $0.status == .skipped }.allSatisfy { $0.error == "not started: the run was interrupted" })
        #expect(outcomes.filter { $0.status == .skipped }.count == 4)
    }

    @Test func reportCountsAndExitCodeComeFromTheOutcomes() throws {
        let outcomes = [
            VenueOutcome(slug: "a", database: "gwi_pos_a", status: .ok, figures: VenueFigures([("bytes", .int(5))])),
            VenueOutcome(slug: "b", database: "gwi_pos_b", status: .skipped, error: "disabled in the fleet file"),
        ]
        var report = RunReport(command: "backup", fleet: RunReport.FleetReference(path: "/f.yaml", venuesSHA256: "ab"),
                               startedAt: Date(timeIntervalSince1970: 0), finishedAt: Date(timeIntervalSince1970: 1.5),
                               interrupted: false, outcomes: outcomes)
        #expect(report.exitCode == 0)
        let json = report.json
        #expect(json["summary"] == .object([("ok", .int(1)), ("warning", .int(0)), ("failed", .int(0)), ("skipped", .int(1))]))
        #expect(json["started_at"] == .string("1970-01-01T00:00:00.000Z"))
        #expect(json["finished_at"] == .string("1970-01-01T00:00:01.500Z"))
        report.outcomes[1].status = .warning
        #expect(report.exitCode == 0)
        report.strict = true
        #expect(report.exitCode == 1)
        report.strict = false
        report.outcomes[1].status = .failed
        #expect(report.exitCode == 1)
        report.outcomes[1].status = .skipped
        report.problems = ["combined file not written"]
        #expect(report.exitCode == 1, "a fleet-level problem fails the run even when every venue is ok")
        let decoded = try? RunReport(json: try JSONDecoder().decode(JSONValue.self, from: Data(report.json.serialized().utf8)))
        #expect(decoded?.json == report.json)
        #expect(report.json["schema_version"] == .int(2) && report.json["shard"] == .null)
        #expect(report.json["fleet"] == .object([("path", .string("/f.yaml")), ("venues_sha256", .string("ab"))]))
        report.interrupted = true
        #expect(report.exitCode == 130)
        // The serialized text parses back as JSON with the same values.
        let parsed = try? JSONDecoder().decode(JSONValue.self, from: Data(report.json.serialized().utf8))
        #expect(parsed?["venues"] != nil)
        #expect(parsed?["command"] == .string("backup"))
    }

    @Test func anOlderReportIsRecognisedAsSuchAndANewerOneIsRefused() throws {
        let older: JSONValue = .object([("command", .string("backup")), ("venues", .array([]))])
        #expect(throws: ReportError.otherSchema(1)) { try RunReport(json: older) }
        #expect("\(ReportError.otherSchema(1))".contains("an older report (schema 1"))
        #expect("\(ReportError.otherSchema(9))".contains("upgrade gwi-fleet"))
        #expect(throws: ReportError.notAReport) { try RunReport(json: .object([("venues", .array([]))])) }
    }

    @Test func reportFileNamesStayUniqueForTenRunsStartedInTheSameSecond() async throws {
        let directory = try scratchDirectory("reports")
        let venue = testVenue("one", url: "postgresql://x/{database}", directory: directory)
        let fleet = Fleet(path: directory + "/fleet.yaml", venues: [venue], reportsDirectory: directory + "/reports")
        let paths = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    await FleetRun(command: "check", fleet: fleet, venues: [venue], handleSignals: false)
                        .run { _ in VenueFigures(summary: "fine") }.savedAt
                }
            }
            return await group.reduce(into: [String]()) { if let path = $1 { $0.append(path) } }
        }
        #expect(Set(paths).count == 10)
        #expect(files(in: directory + "/reports").filter { $0.hasSuffix(".json") }.count == 10)
        let ids = try paths.map { try RunReport(json: JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: $0)))).runID }
        #expect(Set(ids).count == 10)
    }
}

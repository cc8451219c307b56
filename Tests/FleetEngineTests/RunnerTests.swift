@testable import FleetEngine
import FleetModel
import Foundation
import Synchronization
import Testing
import TestSupport

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
            return UploadResult(uploaded: [venue.slug], alreadyOffsite: 0)
        }
        #expect(tracker.peak == 3)
        #expect(tracker.started.count == 10)
        #expect(outcomes.map(\.slug) == (0..<10).map { "v\($0)" })
        #expect(outcomes.allSatisfy { $0.status == .ok && $0.result(as: UploadResult.self)?.uploaded == [$0.slug] })
    }

    @Test func oneFailingVenueFailsAloneWithItsReason() async {
        let outcomes = await FleetRunner(jobs: 2).run(venues(4)) { venue in
            if venue.slug == "v1" { throw Boom() }
            try await Task.sleep(for: .milliseconds(20))
            return nil
        }
        #expect(outcomes.map(\.status) == [.ok, .failed, .ok, .ok])
        #expect(outcomes[1].error == "boom")
    }

    @Test func aVenueErrorKeepsItsStepAndHintAndIsRedactedOnceEverywhere() async throws {
        let venue = testVenue("v0", url: "postgresql://app:s3cret-pw@db.example/{database}", directory: "/nonexistent")
        let outcomes = await FleetRunner(jobs: 1).run([venue]) { _ in
            throw FleetEngineError.refused(VenueError(step: "restore", "login as app:s3cret-pw failed", hint: "check s3cret-pw's role"))
        }
        let failure = try #require(outcomes[0].failure)
        #expect(failure == VenueError(step: "restore", "login as app:*** failed", hint: "check ***'s role"))
        #expect(outcomes[0].error == "restore: login as app:*** failed; check ***'s role")
        let report = RunReport(command: "restore", fleet: .init(path: "/f.yaml", venuesSHA256: "ab"), startedAt: Date(), finishedAt: Date(),
                               interrupted: false, outcomes: outcomes)
        #expect(!report.jsonText.contains("s3cret"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.jsonText.utf8)) as? [String: Any])
        let row = try #require((json["venues"] as? [[String: Any]])?.first)
        #expect(row["error"] as? String == "restore: login as app:*** failed; check ***'s role")
        #expect(row["error_detail"] as? [String: String] == ["step": "restore", "cause": "login as app:*** failed", "hint": "check ***'s role"])
        #expect(try RunReport.decode(Data(report.jsonText.utf8)).outcomes[0].failure == failure, "the detail reads back")
    }

    @Test func disabledVenuesAreSkippedAndNeverRun() async {
        var list = venues(3)
        list[1].enabled = false
        let tracker = Concurrency()
        let outcomes = await FleetRunner(jobs: 2).run(list) { venue in
            tracker.enter(venue.slug)
            return nil
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
            return nil
        }
        #expect(outcomes[0].status == .failed)
        #expect(outcomes[0].error?.hasPrefix("timed out after 200ms") == true)
        #expect(outcomes[0].duration < .seconds(5))
        #expect(outcomes[1].status == .ok)
    }

    @Test func theCommandLineTimeoutIsResolvedOnceIntoEveryVenue() async throws {
        let directory = try scratchDirectory("timeout")
        try """
            version: 1
            defaults:
              url: postgresql://127.0.0.1:1/{database}
              timeout: 30m
            venues:
              - slug: a
              - slug: b
                timeout: 2h
            """.write(toFile: directory + "/fleet.yaml", atomically: true, encoding: .utf8)
        var request = FleetRequest(command: "check")
        request.fleetPath = directory + "/fleet.yaml"
        request.timeout = .milliseconds(100)
        request.jobs = 3
        let resolved = try await ResolvedRequest.resolve(request, environment: [:])
        #expect(resolved.fleet.jobs == 3)
        #expect(resolved.venues.map(\.timeout) == [.milliseconds(100), .milliseconds(100)])
        let outcomes = await FleetRunner(jobs: 1).run(resolved.venues) { _ in
            try await Task.sleep(for: .seconds(30))
            return nil
        }
        #expect(outcomes.allSatisfy { $0.error?.hasPrefix("timed out after 100ms") == true })
        // Without --timeout each venue keeps its own.
        request.timeout = nil
        #expect(try await ResolvedRequest.resolve(request, environment: [:]).venues.map(\.timeout) == [.seconds(1800), .seconds(7200)])
        // The fleet file is found the same way for every command.
        #expect(try FleetPath.resolve(nil, environment: ["GWI_FLEET": "/x/fleet.yaml"]) == "/x/fleet.yaml")
    }

    @Test func cancellationStopsStartingVenuesAndReportsEveryOne() async throws {
        let tracker = Concurrency()
        let runner = FleetRunner(jobs: 2)
        let list = venues(6)
        let task = Task {
            await runner.run(list) { venue in
                tracker.enter(venue.slug)
                try await Task.sleep(for: .seconds(30))
                return nil
            }
        }
        // Cancel once both slots are busy, however long the machine takes to get there.
        _ = await waitUntil(seconds: 10, every: .milliseconds(20)) { tracker.started.count >= 2 }
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
            VenueOutcome(slug: "a", database: "gwi_pos_a", status: .ok, result: BackupResult(file: "/b/a/x.dump", bytes: 5)),
            VenueOutcome(slug: "b", database: "gwi_pos_b", status: .skipped, error: "disabled in the fleet file"),
        ]
        var report = RunReport(command: "backup", fleet: RunReport.FleetReference(path: "/f.yaml", venuesSHA256: "ab"),
                               startedAt: Date(timeIntervalSince1970: 0), finishedAt: Date(timeIntervalSince1970: 1.5),
                               interrupted: false, outcomes: outcomes)
        #expect(report.exitCode == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.jsonText.utf8)) as? [String: Any])
        #expect(json["summary"] as? [String: Int] == ["ok": 1, "warning": 0, "failed": 0, "skipped": 1])
        #expect(json["started_at"] as? String == "1970-01-01T00:00:00.000Z")
        #expect(json["finished_at"] as? String == "1970-01-01T00:00:01.500Z")
        #expect(json["schema_version"] as? Int == 3 && json["shard"] is NSNull)
        #expect(json["fleet"] as? [String: String] == ["path": "/f.yaml", "venues_sha256": "ab"])
        let venue = try #require((json["venues"] as? [[String: Any]])?.first)
        #expect(venue["slug"] as? String == "a" && venue["bytes"] as? Int == 5 && venue["file"] as? String == "/b/a/x.dump")
        #expect(venue["error"] is NSNull)
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
        let decoded = try RunReport.decode(Data(report.jsonText.utf8))
        #expect(decoded.jsonText == report.jsonText)
        #expect(decoded.outcomes == report.outcomes, "the typed results read back as they were written")
        report.interrupted = true
        #expect(report.exitCode == 130)
    }

    @Test func olderReportsReadIntoTheSameTypesAndANewerOneIsRefused() throws {
        // Schema 1: no schema_version, run id or fleet; the venue's keys as they were.
        let older = #"{"command": "backup", "started_at": "2026-11-01T02:00:00.000Z", "finished_at": "2026-11-01T02:00:05.000Z", "venues": [{"slug": "a", "database": "gwi_pos_a", "status": "ok", "duration_ms": 400, "error": null, "summary": "1 kB custom", "file": "/b/a/x.dump", "bytes": 1024, "row_counts": {"public.Order": 3}}]}"#
        let report = try RunReport.decode(Data(older.utf8))
        #expect(report.schema == 1 && report.runID == "")
        #expect(report.outcomes.first?.summary == "1 kB custom")
        #expect(report.outcomes.first?.result(as: BackupResult.self)?.rowCounts == ["public.Order": 3])
        // Schema 2: `backup --prune` wrote its deletions as `pruned_deleted`.
        let schema2 = #"{"schema_version": 2, "run_id": "r", "command": "backup", "started_at": "2026-11-01T02:00:00.000Z", "finished_at": "2026-11-01T02:00:05.000Z", "venues": [{"slug": "a", "database": "gwi_pos_a", "status": "ok", "duration_ms": 400, "error": null, "summary": "", "file": "/b/a/x.dump", "bytes": 1024, "pruned_deleted": [{"file": "/b/a/old.dump", "reason": "older than 30 days"}], "pruned_kept": []}]}"#
        #expect(try RunReport.decode(Data(schema2.utf8)).outcomes.first?.result(as: BackupResult.self)?.pruned?.deleted.map(\.file) == ["/b/a/old.dump"])
        #expect("\(ReportError.otherSchema(1))".contains("an older report (schema 1"))
        #expect(throws: ReportError.otherSchema(9)) { try RunReport.decode(Data(#"{"schema_version": 9, "command": "x", "venues": []}"#.utf8)) }
        #expect("\(ReportError.otherSchema(9))".contains("upgrade gwi-fleet"))
        #expect(throws: ReportError.notAReport) { try RunReport.decode(Data(#"{"venues": []}"#.utf8)) }
        #expect(throws: ReportError.notAReport) { try RunReport.decode(Data("[1, 2]".utf8)) }
    }

    @Test func reportFileNamesStayUniqueForTenRunsStartedInTheSameSecond() async throws {
        let directory = try scratchDirectory("reports")
        let venue = testVenue("one", url: "postgresql://x/{database}", directory: directory)
        let fleet = Fleet(path: directory + "/fleet.yaml", venues: [venue], reportsDirectory: directory + "/reports")
        let paths = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    await FleetRun(command: "check", fleet: fleet, venues: [venue], handleSignals: false)
                        .run { _ in nil }.savedAt
                }
            }
            return await group.reduce(into: [String]()) { if let path = $1 { $0.append(path) } }
        }
        #expect(Set(paths).count == 10)
        #expect(files(in: directory + "/reports").filter { $0.hasSuffix(".json") }.count == 10)
        let ids = try paths.map { try RunReport.read($0).runID }
        #expect(Set(ids).count == 10)
    }
}

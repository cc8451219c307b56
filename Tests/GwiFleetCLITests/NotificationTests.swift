import Foundation
import Testing
import TestSupport

/// Nobody misses a failed night: webhooks on a local HTTP server that records what it receives.
@Suite struct NotificationTests {
    let cluster = TestCluster.shared

    @Test func aFailingBackupNotifiesJSONAndSlackNamingTheVenueWithoutThePassword() async throws {
        let server = try RecordingHTTPServer()
        try await cluster.createVenue(database: "gwi_pos_note_ok")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://\(cluster.passwordRole):\(cluster.password)@127.0.0.1:\(cluster.port)/{database}
            notify:
              - webhook: \(server.url)/json
              - webhook: \(server.url)/slack/<hook>
                format: slack
              - webhook: \(server.url)/hc
                format: healthchecks
            venues:
              - slug: note_ok
              - slug: note_gone
            """)
        let result = try await CLI.run(["backup", "--fleet", directory.fleet])
        #expect(result.status == 1)
        let requests = server.requests()
        let json = try #require(requests.first { $0["path"] == "/json" })
        let payload = try JSONSerialization.jsonObject(with: Data((json["body"] ?? "").utf8)) as? [String: Any] ?? [:]
        #expect(payload["event"] as? String == "failure" && payload["command"] as? String == "backup")
        #expect((payload["failed"] as? [[String: Any]])?.map { $0["venue"] as? String } == ["note_gone"])
        #expect((payload["report"] as? String)?.hasPrefix(directory.path + "/reports/backup-") == true)
        let slack = try #require(requests.first { $0["path"]?.hasPrefix("/slack") == true })
        let text = (try JSONSerialization.jsonObject(with: Data((slack["body"] ?? "").utf8)) as? [String: Any])?["text"] as? String ?? ""
        #expect(text.contains("*note_gone*") && text.contains("1 of 2 venues failed"), "\(text)")
        #expect(requests.map { $0["path"] ?? "" }.filter { $0.hasPrefix("/hc") } == ["/hc/start", "/hc/fail"])
        for request in requests { #expect(!(request["body"] ?? "").contains(cluster.password)) }
        let report = try directory.report()
        #expect((report["notifications"] as? [[String: Any]])?.count == 4)
    }

    @Test func aRecoveryIsSentOnceAndAnUnreachableWebhookChangesNothing() async throws {
        let server = try RecordingHTTPServer()
        try await cluster.createVenue(database: "gwi_pos_note_back")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            notify:
              - webhook: \(server.url)/ops
                on: [failure, recovery]
              - webhook: http://127.0.0.1:1/nowhere
                on: [always]
            venues:
              - slug: note_back
            """)
        try await cluster.psql(database: "postgres", sql: "ALTER DATABASE gwi_pos_note_back RENAME TO gwi_pos_note_back_away")
        #expect(try await CLI.run(["check", "--fleet", directory.fleet]).status == 1)
        try await cluster.psql(database: "postgres", sql: "ALTER DATABASE gwi_pos_note_back_away RENAME TO gwi_pos_note_back")
        try await Task.sleep(for: .milliseconds(20))
        let recovered = try await CLI.run(["check", "--fleet", directory.fleet])
        #expect(recovered.status == 0, "an undeliverable notification never changes the exit code")
        let delivered = try directory.report()["notifications"] as? [[String: Any]] ?? []
        #expect(delivered.contains { $0["delivered"] as? Bool == false && ($0["error"] as? String)?.contains("after 3 tries") == true })
        #expect(delivered.allSatisfy { !(($0["to"] as? String) ?? "").contains("nowhere") }, "the URL path is not shown")
        #expect(try await CLI.run(["check", "--fleet", directory.fleet]).status == 0)
        let events = server.requests().compactMap { request -> String? in
            (try? JSONSerialization.jsonObject(with: Data((request["body"] ?? "").utf8)) as? [String: Any])?["event"] as? String
        }
        #expect(events == ["failure", "recovery"])
    }

    @Test func aSignalWhileAWebhookHangsEndsTheRunWith130() async throws {
        let listener = try SilentListener()
        try await cluster.createVenue(database: "gwi_pos_note_hang")
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            notify:
              - webhook: http://127.0.0.1:\(listener.port)/hook
                on: [always]
            venues:
              - slug: note_hang
            """)
        let started = ContinuousClock.now
        let run = Task { try await CLI.run(["check", "--fleet", directory.fleet]) }
        // The report is saved before the notifications go out: from then on the run waits on the webhook
        // (10 s a try, three tries).
        #expect(await waitUntil { !directory.reports.isEmpty })
        try await Task.sleep(for: .milliseconds(300))
        let pids = ProcessTable.pids(commandContaining: [CLI.executable, directory.fleet])
        #expect(pids.count == 1)
        for pid in pids { kill(pid, SIGINT) }
        let result = try await run.value
        #expect(result.status == 130, "\(result.stderr)")
        #expect(ContinuousClock.now - started < .seconds(20), "it did not wait out the webhook's tries")
        let report = try directory.report()
        #expect(report["interrupted"] as? Bool == true)
        #expect((report["venues"] as? [[String: Any]])?.first?["status"] as? String == "ok", "the venue's own result stands")
        withExtendedLifetime(listener) {}
    }
}

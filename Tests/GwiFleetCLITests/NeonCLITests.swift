import Foundation
import Testing
import TestSupport

/// `restore --at` through Neon from the command line: the fleet file's `pitr.neon`, the key in
/// the variable it names, the branch gone after success and after Ctrl-C, the key nowhere.
@Suite(.timeLimit(.minutes(5))) struct NeonCLITests {
    var cluster: ArchivedCluster { .shared }

    func fleet(_ neon: NeonTestServer, database: String) throws -> FleetDirectory {
        try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://postgres@127.0.0.1:\(cluster.port)/{database}
              password_env: GWI_TEST_VENUE_PASSWORD
              pitr:
                neon:
                  project_id: \(neon.projectID)
                  api_key_env: GWI_TEST_NEON_KEY
                  api_url: \(neon.url)
            venues:
              - slug: neon-cli
                database: \(database)
            """)
    }

    @Test func ctrlCWhileTheBranchIsMadeDeletesItAndTheStatusShowsTheNeonWindow() async throws {
        let key = "neon-cli-key-\(UUID().uuidString)"
        let neon = try NeonTestServer(cluster: cluster, apiKey: key)
        let directory = try fleet(neon, database: "neon_b")
        let environment = ["GWI_TEST_NEON_KEY": key, "GWI_TEST_VENUE_PASSWORD": ArchivedCluster.superuserPassword]

        // The window: from the default branch's history to now, nothing lagging.
        let status = try await CLI.run(["status", "--json", "--fleet", directory.fleet], environment: environment)
        let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let row = (json?["venues"] as? [[String: Any]])?.first
        let pitr = try #require(row?["pitr"] as? [String: Any], "\(status.stdout) \(status.stderr)")
        #expect(pitr["provider"] as? String == "neon" && pitr["archive_lag_seconds"] as? Double == 0 && pitr["error"] == nil, "\(pitr)")
        #expect(pitr["earliest"] is String && pitr["latest"] is String)

        try neon.failOperations(false, delaySeconds: 120)
        let at = CLI.iso(Date())
        let run = Task { try await CLI.run(["restore", "neon-cli", "--at", at, "--as", "neon_b_never", "--fleet", directory.fleet],
                                           environment: environment) }
        _ = try await waitUntil(seconds: 60) { neon.requests().contains { $0["method"] as? String == "POST" } }
        try await Task.sleep(for: .milliseconds(300))
        for pid in ProcessTable.pids(commandContaining: [CLI.executable, directory.fleet]) { kill(pid, SIGINT) }
        let result = try await run.value
        #expect(result.status == 130, "\(result.stderr)")
        #expect(try await neon.branches().map { $0["name"] as? String } == ["main"], "the branch is deleted on Ctrl-C")
        let report = try directory.report()
        #expect(report["interrupted"] as? Bool == true)
        let text = result.stdout + result.stderr + (try String(contentsOfFile: directory.reports.last ?? "", encoding: .utf8))
        #expect(!text.contains(key) && !text.contains(ArchivedCluster.superuserPassword))
        #expect(try await cluster.psql(database: "postgres", sql: "SELECT count(*) FROM pg_database WHERE datname = 'neon_b_never'") == "0\n")
    }

    @Test func ctrlCDuringVerifyOnANeonScratchBranchEndsAtOnceAndDeletesIt() async throws {
        let key = "neon-cli-key-\(UUID().uuidString)"
        let neon = try NeonTestServer(cluster: cluster, apiKey: key)
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://postgres@127.0.0.1:\(cluster.port)/{database}
              password_env: GWI_TEST_VENUE_PASSWORD
              verify:
                scratch:
                  neon: {project_id: \(neon.projectID), api_key_env: GWI_TEST_NEON_KEY, api_url: "\(neon.url)"}
            venues:
              - slug: neon-cli-v1
                database: neon_v
              - slug: neon-cli-v2
                database: neon_b
            """)
        let environment = ["GWI_TEST_NEON_KEY": key, "GWI_TEST_VENUE_PASSWORD": ArchivedCluster.superuserPassword]
        let backup = try await CLI.run(["backup", "--fleet", directory.fleet], environment: environment)
        #expect(backup.status == 0, "\(backup.stderr)")

        try neon.failOperations(false, delaySeconds: 300)
        let run = Task { try await CLI.run(["verify", "--fleet", directory.fleet], environment: environment) }
        _ = try await waitUntil(seconds: 60) { neon.requests().contains { $0["method"] as? String == "POST" } }
        try await Task.sleep(for: .milliseconds(300))
        let interrupted = ContinuousClock.now
        for pid in ProcessTable.pids(commandContaining: [CLI.executable, directory.fleet]) { kill(pid, SIGINT) }
        let result = try await run.value
        #expect(result.status == 130, "\(result.stderr)")
        #expect(ContinuousClock.now - interrupted < .seconds(30), "Ctrl-C does not wait for the branch's compute")
        #expect(try await neon.branches().map { $0["name"] as? String } == ["main"], "the run's branch is deleted")
        #expect(!(result.stdout + result.stderr).contains(key))
    }
}

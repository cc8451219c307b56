import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

/// Prometheus metrics: the textfile passes promtool, is scraped by a real node_exporter, and the
/// same is pushed to a real Pushgateway.
@Suite struct MetricsTests {
    let cluster = TestCluster.shared

    func fetch(_ url: String) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: URL(string: url)!)
        return String(decoding: data, as: UTF8.self)
    }

    func server(_ tool: String, _ arguments: (Int) -> [String]) throws -> Int {
        let executable = try MotoServer.find(tool)
        for _ in 0..<5 {
            let port = FreePort.pick()
            let pid = try BackgroundProcess.spawn(executable, arguments(port))
            if BackgroundProcess.waitForPort(port, seconds: 20) {
                BackgroundProcess.killAtExit(pid)
                return port
            }
            kill(pid, SIGKILL)
        }
        throw Shell.Failure(message: "\(tool) did not start")
    }

    @Test func theTextfileIsValidScrapedByNodeExporterAndPushed() async throws {
        try await cluster.createVenue(database: "gwi_pos_metric_a")
        try await cluster.createVenue(database: "gwi_pos_metric_b")
        let collector = try FleetDirectory("version: 1\nvenues: []\n").path + "/textfile"
        try FileManager.default.createDirectory(atPath: collector, withIntermediateDirectories: true)
        let pushgateway = try server("prometheus-pushgateway") { ["--web.listen-address=127.0.0.1:\($0)"] }
        let exporter = try server("prometheus-node-exporter") {
            ["--web.listen-address=127.0.0.1:\($0)", "--collector.disable-defaults", "--collector.textfile",
             "--collector.textfile.directory=\(collector)"]
        }
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            metrics:
              textfile: \(collector)/gwi_fleet.prom
              pushgateway: http://127.0.0.1:\(pushgateway)
            venues:
              - slug: metric-a
                database: gwi_pos_metric_a
              - slug: metric-b
                database: gwi_pos_metric_b
            """)
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        // A later run on one venue keeps the other's last known values.
        #expect(try await CLI.run(["verify", "--venue", "metric-a", "--fleet", directory.fleet]).status == 0)
        let text = try String(contentsOfFile: collector + "/gwi_fleet.prom", encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        for needed in ["gwi_fleet_backup_last_success_timestamp_seconds{venue=\"metric-a\"}", "gwi_fleet_backup_last_success_timestamp_seconds{venue=\"metric-b\"}",
                       "gwi_fleet_backup_last_status{venue=\"metric-b\"} 1", "gwi_fleet_verify_last_success_timestamp_seconds{venue=\"metric-a\"}",
                       "gwi_fleet_run_venues{command=\"backup\",status=\"ok\"} 2", "gwi_fleet_run_venues{command=\"verify\",status=\"ok\"} 1",
                       "# TYPE gwi_fleet_backup_size_bytes gauge"] {
            #expect(text.contains(needed), "\(needed)")
        }
        let lint = try await Shell.captureInBackground(try MotoServer.find("promtool"), ["check", "metrics"], stdinFile: collector + "/gwi_fleet.prom")
        #expect(lint.status == 0 && lint.stdout.isEmpty && lint.stderr.isEmpty, "\(lint.stdout)\(lint.stderr)")
        let scraped = try await fetch("http://127.0.0.1:\(exporter)/metrics")
        #expect(scraped.contains("gwi_fleet_backup_last_status{venue=\"metric-a\"} 1"))
        #expect(scraped.contains("node_textfile_scrape_error 0"))
        let pushed = try await fetch("http://127.0.0.1:\(pushgateway)/metrics")
        #expect(pushed.contains("gwi_fleet_run_venues{command=\"verify\""), "\(pushed.prefix(500))")
        #expect(pushed.contains("job=\"gwi_fleet\""))
    }
}

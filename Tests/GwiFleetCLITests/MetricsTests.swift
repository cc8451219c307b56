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
                       "gwi_fleet_run_venues{command=\"backup\",scope=\"fleet\",status=\"ok\"} 2",
                       "gwi_fleet_run_venues{command=\"verify\",scope=\"partial\",status=\"ok\"} 1",
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
        #expect(pushed.contains("gwi_fleet_backup_last_status{command=\"backup\",instance=\"\(ProcessInfo.processInfo.hostName)\",job=\"gwi_fleet\",scope=\"fleet\",venue=\"metric-b\"} 1"),
                "the partial verify erased the full backup's group: \(pushed)")
    }
}

extension MetricsTests {
    /// A Pushgateway's series: `name{labels}` → value, comments left out.
    func pushedSeries(_ port: Int) async throws -> [String: Double] {
        var result: [String: Double] = [:]
        for line in try await fetch("http://127.0.0.1:\(port)/metrics").split(separator: "\n") where line.hasPrefix("gwi_fleet_") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            result[String(line[..<space])] = value
        }
        return result
    }

    @Test func shardsPartialRunsAndWholeRunsEachKeepTheirPushgatewayGroup() async throws {
        let slugs = (0..<4).map { "pushgroup-\($0)" }
        for slug in slugs { try await cluster.createVenue(database: "gwi_pos_" + slug.replacingOccurrences(of: "-", with: "_")) }
        let pushgateway = try server("prometheus-pushgateway") { ["--web.listen-address=127.0.0.1:\($0)"] }
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            metrics:
              pushgateway: http://127.0.0.1:\(pushgateway)
            venues:
            \(slugs.map { "  - slug: \($0)\n    database: gwi_pos_\($0.replacingOccurrences(of: "-", with: "_"))" }.joined(separator: "\n"))
            """)
        // The shipped recipe's split run, an ad-hoc run of one venue that fails, then one that succeeds.
        for index in 0..<2 {
            let shard = try await CLI.run(["backup", "--shard", "\(index)/2", "--fleet", directory.fleet])
            #expect(shard.status == 0, "\(shard.stdout)\(shard.stderr)")
        }
        let broken = try FleetDirectory(try String(contentsOfFile: directory.fleet, encoding: .utf8)
            .replacingOccurrences(of: "database: gwi_pos_pushgroup_0", with: "database: gwi_pos_pushgroup_missing"))
        #expect(try await CLI.run(["backup", "--venue", "pushgroup-0", "--fleet", broken.fleet]).status == 1)
        let pushed = try await pushedSeries(pushgateway)
        let host = ProcessInfo.processInfo.hostName
        for slug in slugs {
            let success = pushed.filter { $0.key.hasPrefix("gwi_fleet_backup_last_success_timestamp_seconds{") && $0.key.contains("venue=\"\(slug)\"") }
            #expect(success.count == 1 && success.keys.allSatisfy { $0.contains("scope=\"shard-") && $0.contains("instance=\"\"") },
                    "\(slug): \(success.keys.sorted())")
            #expect(pushed.keys.contains { $0.hasPrefix("gwi_fleet_venue_verdict{") && $0.contains("venue=\"\(slug)\"") && $0.contains("scope=\"shard-") })
        }
        let okInShards = (0..<2).map { pushed["gwi_fleet_run_venues{command=\"backup\",instance=\"\",job=\"gwi_fleet\",scope=\"shard-\($0)of2\",status=\"ok\"}"] ?? -1 }
        #expect(okInShards.reduce(0, +) == 4 && !okInShards.contains(-1), "\(okInShards)")
        let partial = "command=\"backup\",instance=\"\(host)\",job=\"gwi_fleet\",scope=\"partial\""
        #expect(pushed["gwi_fleet_run_exit_code{\(partial)}"] == 1)
        #expect(pushed["gwi_fleet_run_venues{\(partial),status=\"failed\"}"] == 1)
        #expect(pushed["gwi_fleet_backup_last_status{\(partial),venue=\"pushgroup-0\"}"] == 0)
        #expect(pushed["gwi_fleet_backup_last_failure_timestamp_seconds{\(partial),venue=\"pushgroup-0\"}"] != nil)
        for shard in 0..<2 { #expect(pushed["gwi_fleet_run_exit_code{command=\"backup\",instance=\"\",job=\"gwi_fleet\",scope=\"shard-\(shard)of2\"}"] == 0) }
        #expect(pushed.keys.contains { $0.hasPrefix("gwi_fleet_build_info{") })

        // A whole run on this host is a group of its own; a later partial run replaces only the partial group.
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        #expect(try await CLI.run(["backup", "--venue", "pushgroup-1", "--fleet", directory.fleet]).status == 0)
        let after = try await pushedSeries(pushgateway)
        let whole = "command=\"backup\",instance=\"\(host)\",job=\"gwi_fleet\",scope=\"fleet\""
        #expect(after["gwi_fleet_run_venues{\(whole),status=\"ok\"}"] == 4)
        #expect(after["gwi_fleet_run_venues{\(partial),status=\"ok\"}"] == 1 && after["gwi_fleet_run_exit_code{\(partial)}"] == 0)
        for slug in slugs { #expect(after["gwi_fleet_backup_last_status{\(whole),venue=\"\(slug)\"}"] == 1, "\(slug)") }
        // Each group holds the venue's own latest backup as of its run: newer in each later run.
        let times = ["shard-", "fleet\",", "partial\","].map { scope in
            after.first { $0.key.hasPrefix("gwi_fleet_backup_last_success_timestamp_seconds{") && $0.key.contains("venue=\"pushgroup-1\"")
                && $0.key.contains("scope=\"" + scope) }?.value ?? 0 }
        #expect(times[1] > 0 && times[2] >= times[1], "\(times)")
    }

    /// The repository's deploy/ directory.
    static var deploy: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy").path
    }

    @Test func everyDashboardPanelsQueryReturnsSeriesFromARealPrometheus() async throws {
        try await cluster.createVenue(database: "gwi_pos_dash_a")
        try await cluster.createVenue(database: "gwi_pos_dash_b")
        let work = try FleetDirectory("version: 1\nvenues: []\n").path
        let collector = work + "/textfile"
        try FileManager.default.createDirectory(atPath: collector, withIntermediateDirectories: true)
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            metrics:
              textfile: \(collector)/gwi_fleet.prom
            venues:
              - slug: dash-a
                database: gwi_pos_dash_a
              - slug: dash-b
                database: gwi_pos_dash_b
            """)
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet]).status == 0)
        #expect(try await CLI.run(["verify", "--fleet", directory.fleet]).status == 0)
        #expect(try await CLI.run(["check", "--fleet", directory.fleet]).status == 0)  // the databases' sizes
        let exporter = try server("prometheus-node-exporter") {
            ["--web.listen-address=127.0.0.1:\($0)", "--collector.disable-defaults", "--collector.textfile",
             "--collector.textfile.directory=\(collector)"]
        }
        try """
            global: {scrape_interval: 1s}
            scrape_configs:
              - job_name: node
                static_configs: [{targets: ["127.0.0.1:\(exporter)"]}]
            """.write(toFile: work + "/prometheus.yml", atomically: true, encoding: .utf8)
        let prometheus = try server("prometheus") {
            ["--config.file=\(work)/prometheus.yml", "--storage.tsdb.path=\(work)/tsdb", "--web.listen-address=127.0.0.1:\($0)"]
        }
        func query(_ expr: String) async throws -> [[String: Any]] {
            var components = URLComponents(string: "http://127.0.0.1:\(prometheus)/api/v1/query")!
            components.queryItems = [URLQueryItem(name: "query", value: expr)]
            let (data, _) = try await URLSession.shared.data(from: components.url!)
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            return (json?["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
        }
        // Every venue's verify time scraped: the textfile is in.
        #expect(try await waitUntil(seconds: 60) { try await query("gwi_fleet_verify_last_success_timestamp_seconds").count == 2 })

        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.deploy + "/grafana/gwi-fleet.json")))
            as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        #expect(panels.count >= 8)
        for panel in panels {
            let targets = try #require(panel["targets"] as? [[String: Any]], "\(panel["title"] ?? "?")")
            #expect(!targets.isEmpty)
            for target in targets {
                let expr = try #require(target["expr"] as? String)
                let result = try await query(expr)
                #expect(!result.isEmpty, "panel \(panel["title"] ?? "?"): \(expr) returned no series")
            }
        }
        // The per-venue table has both venues, each with its own backup.
        #expect(try await query("max by (venue) (gwi_fleet_backup_last_status)").count == 2)
    }

    @Test func theAlertRulesPassTheirPromtoolUnitTests() async throws {
        let rules = Self.deploy + "/prometheus"
        let promtool = try MotoServer.find("promtool")
        let check = try await Shell.captureInBackground(promtool, ["check", "rules", rules + "/gwi-fleet.rules.yml"])
        #expect(check.status == 0 && check.stdout.contains("SUCCESS: 7 rules found"), "\(check.stdout)\(check.stderr)")
        let test = try await Shell.captureInBackground(promtool, ["test", "rules", rules + "/gwi-fleet.rules.test.yml"])
        #expect(test.status == 0 && test.stdout.contains("SUCCESS"), "\(test.stdout)\(test.stderr)")
    }

    /// `name{labels}` → value of every series in a textfile.
    static func series(_ path: String) throws -> [String: Double] {
        var result: [String: Double] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            result[String(line[..<space])] = value
        }
        return result
    }

    static func date(_ value: Any?) throws -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return try #require((value as? String).flatMap(formatter.date(from:)), "not a time: \(String(describing: value))")
    }

    @Test func checkWritesEachPitrVenuesRecoveryWindowAndKeepsTheLastKnownOnes() async throws {
        // A server of its own: no other test archives WAL on it between the check and the status.
        let own = try await ArchivedCluster.start(databases: ["pitr_metric_a", "pitr_metric_b"])
        defer { own.remove() }
        _ = try await own.commit(database: "pitr_metric_a", sql: "INSERT INTO orders VALUES (1, 'one')")
        try await own.switchWALAndWaitUntilArchived()
        let collector = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-metrics-pitr-\(UUID().uuidString.prefix(8))").path
        let textfile = collector + "/gwi_fleet.prom"
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: "host=\(own.directory) port=\(own.port) user=postgres dbname={database}"
              pitr:
                pgbackrest:
                  stanza: \(own.stanza)
                  config: \(own.configPath)
            metrics:
              textfile: \(textfile)
            venues:
              - slug: pitr-metric-a
                database: pitr_metric_a
              - slug: pitr-metric-b
                database: pitr_metric_b
            """)

        let check = try await CLI.run(["check", "--fleet", directory.fleet])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let checked = try #require((try directory.report()["fleet_totals"] as? [String: Any])?["pitr"] as? [String: [String: Any]])
        let status = try await CLI.run(["status", "--json", "--fleet", directory.fleet])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.stdout)\(status.stderr)")
        let windows = Dictionary(uniqueKeysWithValues: try #require(json["venues"] as? [[String: Any]]).map {
            ($0["slug"] as? String ?? "", $0["pitr"] as? [String: Any] ?? [:])
        })
        let text = try String(contentsOfFile: textfile, encoding: .utf8)
        for family in ["gwi_fleet_pitr_window_start_seconds", "gwi_fleet_pitr_window_end_seconds", "gwi_fleet_pitr_archive_lag_seconds"] {
            #expect(text.contains("# HELP \(family) ") && text.contains("# TYPE \(family) gauge"), "\(family)")
        }
        let before = try Self.series(textfile)
        for slug in ["pitr-metric-a", "pitr-metric-b"] {
            let window = try #require(windows[slug]), read = try #require(checked[slug])
            #expect(window["error"] == nil && read["error"] == nil, "\(window) \(read)")
            let start = try #require(before["gwi_fleet_pitr_window_start_seconds{venue=\"\(slug)\"}"])
            let end = try #require(before["gwi_fleet_pitr_window_end_seconds{venue=\"\(slug)\"}"])
            let lag = try #require(before["gwi_fleet_pitr_archive_lag_seconds{venue=\"\(slug)\"}"])
            // The window status shows, to the textfile's millisecond.
            #expect(abs(start - (try Self.date(window["earliest"])).timeIntervalSince1970) < 0.0015, "\(start) \(window)")
            #expect(abs(end - (try Self.date(window["latest"])).timeIntervalSince1970) < 0.0015, "\(end) \(window)")
            // The lag as check read it; status, read later, sees the same archive that much older.
            let checkLag = try #require(read["archive_lag_seconds"] as? Double), statusLag = try #require(window["archive_lag_seconds"] as? Double)
            #expect(abs(lag - checkLag) < 0.0006, "\(lag) \(read)")
            let between = (try Self.date(window["checked_at"])).timeIntervalSince(try Self.date(read["checked_at"]))
            #expect(between >= 0 && abs((statusLag - lag) - between) < 0.003, "status lag \(statusLag), check lag \(lag), \(between) s apart")
        }
        let lint = try await Shell.captureInBackground(try MotoServer.find("promtool"), ["check", "metrics"], stdinFile: textfile)
        #expect(lint.status == 0 && lint.stdout.isEmpty && lint.stderr.isEmpty, "\(lint.stdout)\(lint.stderr)")

        // More WAL archived, then a check of one venue: its window moves on, the other keeps its last known values.
        _ = try await own.commit(database: "pitr_metric_a", sql: "INSERT INTO orders VALUES (2, 'two')")
        try await own.switchWALAndWaitUntilArchived()
        let one = try await CLI.run(["check", "--venue", "pitr-metric-a", "--fleet", directory.fleet])
        #expect(one.status == 0, "\(one.stdout)\(one.stderr)")
        let after = try Self.series(textfile)
        for family in ["gwi_fleet_pitr_window_start_seconds", "gwi_fleet_pitr_window_end_seconds", "gwi_fleet_pitr_archive_lag_seconds"] {
            let key = "\(family){venue=\"pitr-metric-b\"}"
            #expect(after[key] != nil && after[key] == before[key], "\(key)")
        }
        let endKey = "gwi_fleet_pitr_window_end_seconds{venue=\"pitr-metric-a\"}"
        #expect((after[endKey] ?? 0) > (before[endKey] ?? .infinity), "the newer archive: \(after[endKey] ?? 0) after \(before[endKey] ?? 0)")
        #expect(after["gwi_fleet_pitr_window_start_seconds{venue=\"pitr-metric-a\"}"] == before["gwi_fleet_pitr_window_start_seconds{venue=\"pitr-metric-a\"}"])
    }
}

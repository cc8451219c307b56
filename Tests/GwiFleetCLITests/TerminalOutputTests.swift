import Foundation
import Testing
import TestSupport

/// What an operator sees: log lines for cron mail, --quiet, JSON logs, colour on a terminal (and
/// NO_COLOR), a progress line that never wraps.
@Suite struct TerminalOutputTests {
    let cluster = TestCluster.shared

    func fleet(_ slugs: [String], extra: String = "") throws -> FleetDirectory {
        try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            \(extra)venues:
            \(slugs.map { "  - slug: \($0)" }.joined(separator: "\n"))
            """)
    }

    @Test func withoutATerminalEachVenueIsOneLogLineAndTheTableIsNotRepeated() async throws {
        try await cluster.createVenue(database: "gwi_pos_out_a")
        let directory = try fleet(["out_a", "out_gone"])
        let result = try await CLI.run(["check", "--fleet", directory.fleet])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("ts=") && $0.contains(" venue=") }
        #expect(lines.count == 2, "\(result.stderr)")
        #expect(lines.contains { $0.contains("level=info venue=out_a status=ok duration_ms=") })
        #expect(lines.contains { $0.contains("level=error venue=out_gone status=failed") && $0.contains("msg=\"connect") })
        #expect(!result.stdout.contains("VENUE"), "the per-venue table is not repeated on stdout: \(result.stdout)")
        #expect(result.stdout.contains("1 ok, 1 failed (out_gone), 0 skipped"))

        let json = try await CLI.run(["check", "--log-format", "json", "--fleet", directory.fleet])
        let objects = json.stderr.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let venueLines = objects.filter { $0["venue"] != nil }
        #expect(Set(venueLines.compactMap { $0["venue"] as? String }) == ["out_a", "out_gone"] && venueLines.allSatisfy { $0["ts"] != nil && $0["status"] != nil })

        let quiet = try await CLI.run(["check", "--quiet", "--fleet", directory.fleet])
        #expect(quiet.stdout.split(separator: "\n").count == 2 && quiet.stdout.hasPrefix("out_gone: failed:"), "\(quiet.stdout)")
        #expect(!quiet.stderr.contains("venue=out_a"), "only failures are logged with --quiet")
    }

    // Issue 21.6: with --log-format json, problem, warning and coverage lines were plain text among
    // the JSON, and duration_ms was a string; a log pipeline could not tell runs apart.
    @Test func withLogFormatJSONEveryLineOnStderrIsAnObjectAndRunsAreMarkedByTheirID() async throws {
        try await cluster.createVenue(database: "gwi_pos_out_json")
        try await cluster.createDatabase("gwi_master_out_json")
        try await cluster.psql(database: "gwi_master_out_json", sql: """
            CREATE TABLE "_cron_venue_registry" ("slug" TEXT, "database_name" TEXT NOT NULL, "is_active" BOOLEAN NOT NULL DEFAULT true);
            INSERT INTO "_cron_venue_registry" VALUES ('out-json', 'gwi_pos_out_json', true), (NULL, 'gwi_pos_out_null', true);
            """)
        let directory = try fleet(["out_json_gone"], extra: """
            discover:
              registry:
                url: \(cluster.url(database: "gwi_master_out_json"))

            """)
        func objects(_ text: String) -> [[String: Any]] {
            let lines = text.split(separator: "\n")
            let parsed = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(parsed.count == lines.count && !lines.isEmpty, "every line on stderr is a JSON object: \(text)")
            return parsed
        }
        let result = try await CLI.run(["check", "--log-format", "json", "--fleet", directory.fleet])
        #expect(result.status == 1, "\(result.stderr)")
        let lines = objects(result.stderr)
        if result.status != 1 { return }
        let report = try directory.report()
        let runID = try #require(report["run_id"] as? String)
        let started = try #require(lines.first { $0["msg"] as? String == "run started" })
        #expect(started["run_id"] as? String == runID && started["command"] as? String == "check" && started["venues"] as? Int == 2, "\(started)")
        let finished = try #require(lines.first { $0["msg"] as? String == "run finished" })
        #expect(finished["run_id"] as? String == runID && finished["exit_code"] as? Int == 1 && finished["failed"] as? Int == 1
                && finished["duration_ms"] is NSNumber, "\(finished)")
        let venue = try #require(lines.first { $0["venue"] as? String == "out-json" })
        #expect(venue["duration_ms"] is NSNumber && !(venue["duration_ms"] is String), "\(venue)")
        // The NULL-slug row: said as a warning when the run starts (a problem of the run, exit 1).
        let warning = try #require(lines.first { ($0["msg"] as? String)?.contains("its slug is NULL") == true })
        #expect(warning["level"] as? String == "warning" && warning["kind"] as? String == "warning", "\(warning)")

        // Commands without a run, and a usage error, speak JSON too.
        let validate = try await CLI.run(["validate", "--log-format", "json", "--fleet", directory.fleet])
        #expect(validate.status == 1 && objects(validate.stderr).contains { ($0["msg"] as? String)?.contains("its slug is NULL") == true })
        let usage = try await CLI.run(["check", "--log-format", "json", "--jobs", "0", "--fleet", directory.fleet])
        #expect(usage.status == 2 && objects(usage.stderr).contains { ($0["msg"] as? String)?.contains("--jobs must be between") == true }, "\(usage.stderr)")
        let invalid = try FleetDirectory("version: 1\nvenues:\n  - slug: Bad Slug\n")
        let rejected = try await CLI.run(["backup", "--log-format", "json", "--fleet", invalid.fleet])
        #expect(rejected.status == 2 && objects(rejected.stderr).contains { ($0["level"] as? String) == "error" }, "\(rejected.stderr)")
    }

    /// Runs gwi-fleet on a pseudo-terminal `columns` wide (util-linux `script`); returns what it showed.
    func onTerminal(_ arguments: [String], columns: Int = 80, environment: [String: String] = [:]) async throws -> String {
        let quoted = ([CLI.executable] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = nil  // the test runner's own setting must not decide
        env.merge(environment) { $1 }
        env["TERM"] = "xterm"
        let output = try await Shell.captureInBackground("/usr/bin/script", ["-qec", "stty cols \(columns) rows 50; \(quoted)", "/dev/null"], environment: env)
        return output.stdout
    }

    @Test func statusIsColouredOnATerminalUnlessNoColor() async throws {
        try await cluster.createVenue(database: "gwi_pos_out_color")
        let directory = try fleet(["out_color"])
        let colored = try await onTerminal(["check", "--fleet", directory.fleet])
        #expect(colored.contains("\u{1B}[32mok"), "\(colored.debugDescription)")
        let plain = try await onTerminal(["check", "--fleet", directory.fleet], environment: ["NO_COLOR": "1"])
        #expect(plain.contains("out_color") && !plain.contains("\u{1B}[32m"))
    }

    @Test func theProgressLineNeverWrapsEightyColumnsWithTwoHundredVenues() async throws {
        let listener = try SilentListener()
        let slugs = (1...200).map { "progress-venue-number-\($0)" }
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://postgres@127.0.0.1:\(listener.port)/{database}
              timeout: 3s
              jobs: 200
            ignore: ["%"]
            venues:
            \(slugs.map { "  - slug: \($0)" }.joined(separator: "\n"))
            """)
        let shown = try await onTerminal(["check", "--fleet", directory.fleet], columns: 80)
        let progress = shown.components(separatedBy: "\r").map { $0.replacingOccurrences(of: "\u{1B}[2K", with: "") }
            .filter { $0.hasPrefix("[") && $0.contains("running:") }
        #expect(!progress.isEmpty, "\(shown.suffix(300).debugDescription)")
        for line in progress { #expect(line.count <= 80, "\(line.count): \(line)") }
        #expect(progress.contains { $0.contains("/200]") })
        withExtendedLifetime(listener) {}
    }
}

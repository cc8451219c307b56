import Foundation
import Testing
import TestSupport

/// `gwi-fleet compliance` end to end: real backups and restore tests, a history made of copies
/// of them dated in the past, the page checked by tidy and rendered by headless Chromium.
@Suite struct ComplianceCLITests {
    let cluster = TestCluster.shared
    static let scriptTable = "<script>alert(1)</script>"

    /// Days are UTC days: a test whose backup and report fell on two sides of midnight would see
    /// today's backup as yesterday's. Every gwi-fleet these tests run has its clock start at noon
    /// (UTC) of today (`GWI_NOW`), and the history is dated from the same moment: no test waits.
    static let realStart = Date()
    static let noon = Date(timeIntervalSince1970: (realStart.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400 + 43_200)
    /// The suite's clock: noon when the suite started, advancing in real time (each run of gwi-fleet starts where it is).
    static func now() -> Date { noon.addingTimeInterval(Date().timeIntervalSince(realStart)) }
    static var clock: [String: String] { ["GWI_NOW": CLI.iso(now())] }

    /// `20261126T161500Z` for a date, as backup file names carry it.
    static func compact(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    /// Copies a venue's newest backup as if taken `daysAgo` days earlier (file name and manifest
    /// times rewritten); returns the copy's stem.
    @discardableResult
    static func backdate(_ venueDirectory: String, daysAgo: Double) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: venueDirectory).sorted()
        let manifestName = try #require(names.last { $0.hasSuffix(".manifest.json") && !$0.hasPrefix(".") })
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: venueDirectory + "/" + manifestName))) as? [String: Any])
        let file = try #require(manifest["file"] as? String)
        let stamp = try #require(file.firstMatch(of: /\d{8}T\d{6}Z/)).output
        let when = now().addingTimeInterval(-daysAgo * 86_400)
        let newFile = file.replacingOccurrences(of: String(stamp), with: compact(when))
        let iso = ISO8601DateFormatter()
        manifest["file"] = newFile
        manifest["started_at"] = iso.string(from: when)
        manifest["finished_at"] = iso.string(from: when.addingTimeInterval(3))
        try FileManager.default.copyItem(atPath: venueDirectory + "/" + file, toPath: venueDirectory + "/" + newFile)
        let stem = String(newFile[..<newFile.range(of: ".dump")!.lowerBound])
        try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: URL(fileURLWithPath: venueDirectory + "/" + stem + ".manifest.json"))
        return stem
    }

    @Test func thePageIsSelfContainedEscapedAndRendersInChromium() async throws {
        try await cluster.createVenue(database: "gwi_pos_cmp_alpha")
        try await cluster.createVenue(database: "gwi_pos_cmp_beta")
        try await cluster.psql(database: "gwi_pos_cmp_alpha", sql: """
            CREATE TABLE "\(Self.scriptTable)" (id int); INSERT INTO "\(Self.scriptTable)" VALUES (1), (2), (3);
            """)
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
            venues:
              - slug: cmp_alpha
              - slug: cmp_beta
            """)
        let backup = try await CLI.run(["backup", "--fleet", directory.fleet], environment: Self.clock)
        #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
        let verify = try await CLI.run(["verify", "--fleet", directory.fleet], environment: Self.clock)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")

        // cmp_alpha: backups one, two and four days ago (none three days ago); the one two days
        // ago failed its restore test on the <script> table. cmp_beta: only today's.
        let alpha = directory.path + "/backups/cmp_alpha"
        try Self.backdate(alpha, daysAgo: 1)
        let broken = try Self.backdate(alpha, daysAgo: 2)
        try Self.backdate(alpha, daysAgo: 4)
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: alpha + "/" + broken + ".manifest.json"))) as? [String: Any])
        let rowCounts = manifest["row_counts"] as? [String: Int] ?? [:]
        #expect(rowCounts["public.\(Self.scriptTable)"] == 3, "the real backup counted the table: \(rowCounts.keys)")
        let record: [String: Any] = [
            "verified_at": ISO8601DateFormatter().string(from: Self.now().addingTimeInterval(-2 * 86_400 + 60)),
            "sha256": manifest["sha256"] as? String ?? "", "checksum_ok": true, "restore_ok": true,
            "tables_matched": rowCounts.count - 1, "tables": rowCounts.count,
            "mismatches": [["table": "public.\(Self.scriptTable)", "expected": 3, "actual": 2]],
        ]
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: alpha + "/" + broken + ".verify.json"))

        let page = directory.path + "/out/compliance.html"
        try FileManager.default.createDirectory(atPath: directory.path + "/out", withIntermediateDirectories: true)
        let result = try await CLI.run(["compliance", "--since", "5d", "--out", page, "--fleet", directory.fleet], environment: Self.clock)
        #expect(result.status == 1, "cmp_alpha missed a day: \(result.stdout)\(result.stderr)")
        #expect(result.stdout == page + "\n")
        // cmp_beta was first backed up today: judged from then, its earlier days not in scope.
        #expect(result.stderr.contains("1 of 2 venues not compliant: cmp_alpha (recovery-point)"), "\(result.stderr)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(!html.contains("http://") && !html.contains("https://"))
        #expect(!html.contains("<script") && html.contains("public.&lt;script&gt;alert(1)&lt;/script&gt; expected 3, got 2"))
        #expect(html.contains("<td class=\"missing\" title=\"cmp_alpha "), "the day three days ago is missing")
        #expect(html.contains("<li>\(broken).dump"), "the corrupt copy is named in the details")
        #expect(html.components(separatedBy: "<svg ").count == 3 && html.contains("<rect "), "two charts, with bars")
        #expect(html.contains("@page") && html.contains("print-color-adjust: exact"))

        // tidy: no errors (warnings would exit 1, errors 2).
        let tidy = try await Shell.captureInBackground("/usr/bin/env", ["tidy", "-e", "-q", page])
        #expect(tidy.status == 0, "tidy: \(tidy.stderr)")

        // Headless Chromium renders it: a screenshot with real content.
        let screenshot = directory.path + "/out/page.png"
        let chromium = try await Shell.captureInBackground("/usr/bin/env", [
            "timeout", "120", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--user-data-dir=\(directory.path)/chromium", "--window-size=800,1000", "--screenshot=\(screenshot)", "file://\(page)",
        ])
        #expect(chromium.status == 0, "chromium: \(chromium.stderr)")
        // And prints: a PDF with pages.
        let pdf = directory.path + "/out/page.pdf"
        let print = try await Shell.captureInBackground("/usr/bin/env", [
            "timeout", "120", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
            "--user-data-dir=\(directory.path)/chromium", "--print-to-pdf=\(pdf)", "file://\(page)",
        ])
        let pdfBytes = (try? Data(contentsOf: URL(fileURLWithPath: pdf))) ?? Data()
        #expect(print.status == 0 && pdfBytes.starts(with: Data("%PDF".utf8)), "chromium --print-to-pdf: \(print.stderr)")
        let pages = String(decoding: pdfBytes, as: UTF8.self).components(separatedBy: "/Type /Page").count - 1
        #expect(pages >= 2, "the page objects and the page tree: \(pages)")
        let figures = try await Shell.runInBackground(Repository.root + "/Tests/GwiFleetCLITests/Fixtures/scripts/png-colours", [screenshot])
        let numbers = figures.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(numbers.count == 4 && numbers[0] == 800 && numbers[1] == 1000, "\(figures)")
        #expect(numbers.count == 4 && numbers[2] >= 20 && numbers[3] >= 800 * 1000 / 20, "not blank: \(figures)")

        // The same figures as CSV (one row per venue and day), JSON and Markdown.
        let csv = try await CLI.run(["compliance", "--since", "5d", "--format", "csv", "--fleet", directory.fleet], environment: Self.clock)
        let lines = csv.stdout.split(separator: "\n")
        #expect(csv.status == 1 && lines.count == 1 + 2 * 5, "\(csv.stdout)")
        #expect(lines.filter { $0.hasPrefix("cmp_alpha,") }.map { $0.split(separator: ",")[3] } == ["complete", "missing", "failed", "complete", "verified"],
                "four days ago complete, three missing, two corrupt, one complete, today verified: \(csv.stdout)")
        let json = try await CLI.run(["compliance", "--since", "5d", "--json", "--fleet", directory.fleet], environment: Self.clock)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let summary = try #require(object["summary"] as? [String: Any])
        #expect(summary["covered_venue_days"] as? Int == 3 + 1 && summary["venue_days"] as? Int == 5 + 1, "\(summary)")
        let markdown = try await CLI.run(["compliance", "--since", "5d", "--format", "markdown", "--fleet", directory.fleet], environment: Self.clock)
        #expect(markdown.stdout.contains("| venue-days covered | 4 of 6 (66.7%) |") && !markdown.stdout.contains("<script"))
    }

    @Test func theRemoteCatalogAloneProvesBackupsOffsiteVerifiedAndEncrypted() async throws {
        try await cluster.createVenue(database: "gwi_pos_cmp_remote")
        // zstd, age and a remote in a bucket of its own, as the off-site tests set it up.
        let (directory, _, environment, _) = try await OffsiteTests().fleet("cmp_remote")
        func gwi(_ arguments: [String]) async throws -> Shell.Output {
            try await CLI.run(arguments + ["--fleet", directory.fleet], environment: environment.merging(Self.clock) { $1 }, unsetting: ["AWS_CA_BUNDLE"])
        }
        #expect(try await gwi(["backup"]).status == 0)
        let verify = try await gwi(["verify", "--from", "remote"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        // The ops machine's backups are gone: only the remote tells.
        try FileManager.default.removeItem(atPath: directory.path + "/backups")
        let local = try await gwi(["compliance", "--since", "1d", "--json"])
        #expect(local.status == 1, "no local backups: \(local.stdout)")
        let result = try await gwi(["compliance", "--since", "1d", "--remote", "--json"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["source"] as? String == "remote")
        let venue = try #require((object["venues"] as? [[String: Any]])?.first)
        let today = try #require((venue["days"] as? [[String: Any]])?.last)
        #expect(today["state"] as? String == "verified" && today["offsite"] as? Bool == true && today["encrypted"] as? Bool == true, "\(today)")
        #expect(venue["verdict"] as? String == "compliant", "\(venue["reasons"] ?? [])")
    }
}

extension ComplianceCLITests {
    @Test func theRecoveryPointCountsWhatTheSavedChecksFoundArchived() async throws {
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://127.0.0.1:1/{database}
            venues:
              - slug: archived
            """)
        let reports = directory.path + "/reports"
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let day = try #require(iso.date(from: "2026-11-20T00:00:00.000Z"))
        // `check` runs of 2026-11-20 at 00:00, 04:00, 08:00 and noon, the archive 30, 45, 20 and 10 seconds behind.
        for (hour, lag) in [(0, 30.0), (4, 45.0), (8, 20.0), (12, 10.0)] {
            let at = day.addingTimeInterval(Double(hour) * 3600)
            let runID = Self.compact(at) + "-0000000\(hour % 10)"
            let report: [String: Any] = [
                "schema_version": 3, "run_id": runID, "command": "check", "started_at": iso.string(from: at.addingTimeInterval(-2)),
                "finished_at": iso.string(from: at.addingTimeInterval(1)), "interrupted": false, "venues": [] as [Any],
                "fleet_totals": ["pitr": ["archived": [
                    "provider": "pgbackrest", "earliest": "2026-11-01T00:00:00.000Z", "latest": iso.string(from: at.addingTimeInterval(-lag)),
                    "archive_lag_seconds": lag, "checked_at": iso.string(from: at),
                ]]],
            ]
            try JSONSerialization.data(withJSONObject: report).write(to: URL(fileURLWithPath: reports + "/check-\(runID).json"))
        }
        let arguments = ["compliance", "--since", "1d", "--until", "2026-11-20T12:00:00Z", "--fleet", directory.fleet]
        // The worst moment: 08:00, when what the 04:00 check had seen archived reached 03:59:15.
        let csv = try await CLI.run(arguments + ["--format", "csv"])
        #expect(csv.status == 1, "no backup: not compliant")
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.first?.hasSuffix(",recovery_point_seconds,recovery_point_source") == true, "\(csv.stdout)")
        #expect(lines.count == 2 && lines[1].hasPrefix("archived,gwi_pos_archived,2026-11-20,missing,") && lines[1].hasSuffix(",14445,archive"), "\(csv.stdout)")
        let json = try await CLI.run(arguments + ["--json"])
        let model = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let point = try #require((model["venues"] as? [[String: Any]])?.first?["recovery_point"] as? [String: Any], "\(json.stdout)")
        #expect(point["seconds"] as? Double == 14_445 && point["source"] as? String == "archive", "\(point)")
        #expect(point["at"] as? String == "2026-11-20T08:00:00.000Z" && point["restorable_to"] as? String == "2026-11-20T03:59:15.000Z", "\(point)")
        let markdown = try await CLI.run(arguments)
        #expect(markdown.stdout.contains(" | 4h 0m (WAL archive) | "), "\(markdown.stdout)")
    }
}

/// The page as an auditor reads it (issue 21.10): provenance, a venue judged from its first
/// backup, a disabled venue shown disabled, and a layout Chromium measures at 1280 px.
extension ComplianceCLITests {
    /// What the measuring script (run in a copy of the page) found.
    struct Layout: Decodable {
        var minCellWidth: Double, minCellHeight: Double, verdictLines: Int, grids: Int, overflow: Double, tablesPastBody: Double
        var months: [String], axes: Int, ticks: [String]
    }

    static let measuringScript = """
        <script>
        const cells = [...document.querySelectorAll('table.grid td')].map(c => c.getBoundingClientRect());
        const verdict = document.createRange();
        verdict.selectNodeContents(document.querySelector('.verdict'));
        const layout = {
          minCellWidth: Math.min(...cells.map(r => r.width)), minCellHeight: Math.min(...cells.map(r => r.height)),
          verdictLines: new Set([...verdict.getClientRects()].map(r => Math.round(r.top))).size,
          grids: document.querySelectorAll('table.grid').length,
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          tablesPastBody: Math.max(...[...document.querySelectorAll('table')].map(t => t.getBoundingClientRect().right))
            - (document.body.getBoundingClientRect().right - parseFloat(getComputedStyle(document.body).paddingRight)),
          months: [...document.querySelectorAll('th.month')].map(t => t.textContent),
          axes: document.querySelectorAll('svg line.axis').length,
          ticks: [...document.querySelectorAll('svg text.tick')].map(t => t.textContent),
        };
        document.body.insertAdjacentHTML('beforeend', '<pre id="layout">' + JSON.stringify(layout) + '</pre>');
        </script>
        """

    @Test func theAuditorsPageNamesItsMakerJudgesNewVenuesFromTheirFirstBackupAndLaysOutReadably() async throws {
        for database in ["gwi_pos_cmp_steady", "gwi_pos_cmp_newcomer", "gwi_pos_cmp_resting"] { try await cluster.createVenue(database: database) }
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: \(cluster.urlTemplate)
              backup:
                retention: {keep_days: 60, keep_min: 3}
            venues:
              - slug: cmp_steady
              - slug: cmp_newcomer
              - slug: cmp_resting
                enabled: false
            """)
        // Each run's clock starts where the suite's is then (a restore test is never after the report).
        var environment: [String: String] { Self.clock.merging(["USER": "auditor-test"]) { $1 } }
        #expect(try await CLI.run(["backup", "--fleet", directory.fleet], environment: environment).status == 0)
        let verify = try await CLI.run(["verify", "--fleet", directory.fleet], environment: environment)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        // cmp_steady: a backup every day of the 45; cmp_newcomer joined nine days ago.
        for daysAgo in 1...44 { try Self.backdate(directory.path + "/backups/cmp_steady", daysAgo: Double(daysAgo)) }
        var firstNewcomer = ""
        for daysAgo in 1...9 { firstNewcomer = try Self.backdate(directory.path + "/backups/cmp_newcomer", daysAgo: Double(daysAgo)) }

        // --out into a directory that does not exist yet.
        let page = directory.path + "/out/audits/2026/compliance.html"
        let result = try await CLI.run(["compliance", "--since", "45d", "--out", page, "--fleet", directory.fleet], environment: environment)
        #expect(result.status == 0, "the newcomer is judged from its first backup: \(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("all 2 venues compliant over 45 days"), "\(result.stderr)")
        let html = try String(contentsOfFile: page, encoding: .utf8)

        // Provenance: version, host, user, the command line; the page's own SHA-256 in the footer.
        #expect(html.contains("<tr><th scope=\"row\">gwi-fleet</th><td>gwi-fleet 0."), "version")
        #expect(html.contains("<tr><th scope=\"row\">user</th><td>auditor-test</td></tr>"))
        #expect(html.contains("<tr><th scope=\"row\">host</th><td>\(ProcessInfo.processInfo.hostName)</td></tr>"))
        #expect(html.contains(" compliance --since 45d --out \(page) --fleet \(directory.fleet)</td></tr>"), "the command line")
        let stated = try #require(html.firstMatch(of: /<code class="page-sha256">([0-9a-f]{64})<\/code>/)).output.1
        let check = { (file: String) in try await Shell.captureInBackground("/bin/sh", ["-c", "sed '/^<footer/,$d' \"$1\" | sha256sum", "sh", file]) }
        #expect(try await check(page).stdout.hasPrefix(stated + " "), "the README's one-liner gives the footer's SHA-256")
        let tampered = directory.path + "/out/tampered.html"
        try html.replacingOccurrences(of: "cmp_newcomer", with: "cmp_newcomex").write(toFile: tampered, atomically: true, encoding: .utf8)
        #expect(try await !check(tampered).stdout.hasPrefix(stated), "an edited page no longer matches")

        // Monitored since: the newcomer's days before its first backup are not in scope, not missing.
        #expect(html.contains("<td class=\"not-in-scope\" title=\"cmp_newcomer "), "not in scope in the grid")
        #expect(!html.contains("<td class=\"missing"), "no day is missing")
        #expect(html.contains("<tr class=\"disabled\"><th class=\"venue\" scope=\"row\" title=\"cmp_resting (disabled)\">"), "disabled looks disabled")
        let json = try await CLI.run(["compliance", "--since", "45d", "--json", "--fleet", directory.fleet], environment: environment)
        let model = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let venues = try #require(model["venues"] as? [[String: Any]])
        let newcomer = try #require(venues.first { $0["slug"] as? String == "cmp_newcomer" })
        let stamp = try #require(firstNewcomer.firstMatch(of: /\d{8}T\d{6}Z/)).output
        #expect((newcomer["monitored_since"] as? String)?.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
            .hasPrefix(String(stamp.dropLast())) == true, "monitored since its first backup \(stamp): \(newcomer["monitored_since"] ?? "nil")")
        let states = (newcomer["days"] as? [[String: Any]] ?? []).map { $0["state"] as? String ?? "" }
        #expect(states == Array(repeating: "not-in-scope", count: 35) + Array(repeating: "complete", count: 9) + ["verified"], "\(states)")
        let summary = try #require(model["summary"] as? [String: Any])
        #expect(summary["venue_days"] as? Int == 45 + 10 && summary["covered_venue_days"] as? Int == 55 && summary["disabled"] as? Int == 1, "\(summary)")
        #expect(model["schema_version"] as? Int == 2 && (model["provenance"] as? [String: Any])?["user"] as? String == "auditor-test")

        // tidy: no errors, no warnings.
        let tidy = try await Shell.captureInBackground("/usr/bin/env", ["tidy", "-e", "-q", page])
        #expect(tidy.status == 0, "tidy: \(tidy.stderr)")

        // Chromium at 1280 px measures a copy of the page with a script added.
        let measured = directory.path + "/out/measured.html"
        try html.replacingOccurrences(of: "</body>", with: Self.measuringScript + "\n</body>").write(toFile: measured, atomically: true, encoding: .utf8)
        let dom = try await Shell.captureInBackground("/usr/bin/env", [
            "timeout", "120", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--user-data-dir=\(directory.path)/chromium", "--window-size=1280,1000", "--dump-dom", "file://\(measured)",
        ])
        #expect(dom.status == 0, "chromium: \(dom.stderr)")
        let text = try #require(dom.stdout.firstMatch(of: /<pre id="layout">(\{.*?\})<\/pre>/)).output.1
        let layout = try JSONDecoder().decode(Layout.self, from: Data(String(text).replacingOccurrences(of: "&amp;", with: "&").utf8))
        #expect(layout.minCellWidth >= 16 && layout.minCellHeight >= 16, "cells at least 16 px: \(layout)")
        #expect(layout.verdictLines == 1, "the verdict on one line: \(layout)")
        #expect(layout.grids == 2 && layout.overflow <= 0, "45 days wrap by week into two grids, none wider than the window: \(layout)")
        #expect(layout.tablesPastBody <= 0.5, "every table within the page's column: \(layout)")
        #expect(layout.months.count >= 2 && layout.months.allSatisfy { $0.range(of: #"^[A-Z][a-z]+( \d{4})?$"#, options: .regularExpression) != nil }
                    && layout.months.contains { $0.hasSuffix(" 2026") || $0.hasSuffix(" 2027") },
                "months in the grid's header: \(layout.months)")
        #expect(layout.axes == 4 && layout.ticks.contains("0") && layout.ticks.count >= 2 * (3 + 6), "two charts with two axes and ticks: \(layout)")

        // The screenshot the lead's note shows.
        let screenshot = directory.path + "/out/compliance-45d.png"
        let shot = try await Shell.captureInBackground("/usr/bin/env", [
            "timeout", "120", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--user-data-dir=\(directory.path)/chromium", "--window-size=1280,2600", "--screenshot=\(screenshot)", "file://\(page)",
        ])
        #expect(shot.status == 0, "chromium: \(shot.stderr)")
        let figures = try await Shell.runInBackground(Repository.root + "/Tests/GwiFleetCLITests/Fixtures/scripts/png-colours", [screenshot])
        let numbers = figures.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(numbers.count == 4 && numbers[0] == 1280 && numbers[2] >= 20, "\(figures)")
    }

    @Test func withRemoteTheLocalRestoreTestsOfTheSameBackupsCount() async throws {
        try await cluster.createVenue(database: "gwi_pos_cmp_tested_here")
        let (directory, _, environment, _) = try await OffsiteTests().fleet("cmp_tested_here")
        func gwi(_ arguments: [String]) async throws -> Shell.Output {
            try await CLI.run(arguments + ["--fleet", directory.fleet], environment: environment.merging(Self.clock) { $1 }, unsetting: ["AWS_CA_BUNDLE"])
        }
        #expect(try await gwi(["backup"]).status == 0)
        // Restore-tested from the local copy only: the remote holds no verification record.
        let verify = try await gwi(["verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let result = try await gwi(["compliance", "--since", "1d", "--remote", "--json"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let venue = try #require((object["venues"] as? [[String: Any]])?.first)
        let today = try #require((venue["days"] as? [[String: Any]])?.last)
        #expect(today["state"] as? String == "verified" && today["offsite"] as? Bool == true, "\(today)")
        #expect(venue["verdict"] as? String == "compliant" && venue["latest_verified_at"] != nil, "\(venue["reasons"] ?? [])")
    }
}

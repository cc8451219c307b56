import ArgumentParser
import FleetEngine
import Foundation

/// How a report is shown: a terminal table, Markdown (for a ticket or a wiki) or CSV.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case table, markdown, csv
}

/// Renders a report from its typed value alone, so a saved report (of any schema) renders the
/// same as a fresh one.
enum ReportRendering {
    static func render(_ report: RunReport, format: ReportFormat, savedAt path: String? = nil,
                       statusTable: Bool = true, color: Bool = false) -> String {
        let status = statusRows(report.outcomes)
        let details = detailTable(report).flatMap { $0.rows.isEmpty ? nil : $0 }
        switch format {
        case .csv:
            if let details { return csv(details.headers, details.rows.map { $0.raw }) }
            return csv(["venue", "database", "status", "duration_ms", "error", "summary"], report.outcomes.map { outcome in
                [outcome.slug, outcome.database, outcome.status.rawValue, String(outcome.durationMilliseconds), outcome.error ?? "",
                 detail(outcome)]
            })
        case .table:
            var parts: [String] = []
            if statusTable {
                parts.append(Terminal.table(headers: ["VENUE", "STATUS", "DURATION", "DETAILS"], rows: status,
                                            decorate: color ? { column, cell in column == 1 ? Terminal.colored(status: cell) : cell } : nil))
            }
            if let details { parts.append(Terminal.table(headers: details.headers.map { $0.uppercased() }, rows: details.rows.map { $0.human })) }
            if let coverage = coverageLines(report) { parts.append(coverage) }
            parts.append(totals(report) + (path.map { "\nreport: \($0)" } ?? ""))
            return parts.joined(separator: "\n\n")
        case .markdown:
            var parts = ["## gwi-fleet \(report.command)",
                         "Started \(Timestamp.iso8601(report.startedAt)), finished \(Timestamp.iso8601(report.finishedAt)). **\(totals(report))**",
                         markdown(["venue", "status", "duration", "details"], status)]
            if let details {
                parts.append("### " + details.title)
                parts.append(markdown(details.headers, details.rows.map { $0.human }))
            }
            return parts.joined(separator: "\n\n")
        }
    }

    struct Details {
        struct Row { var raw: [String]; var human: [String] }
        var title: String
        var headers: [String]
        var rows: [Row]
    }

    /// `--quiet`: the failed venues (one line each) and the summary line.
    static func quiet(_ report: RunReport) -> String {
        let failed = report.outcomes.filter { $0.status == .failed }
        return (failed.map { "\($0.slug): failed: \($0.error ?? "")" } + [totals(report)]).joined(separator: "\n")
    }

    /// Failed venues first, then warnings, then the rest, each group in fleet order.
    static func statusRows(_ outcomes: [VenueOutcome]) -> [[String]] {
        let rank: [VenueStatus: Int] = [.failed: 0, .warning: 1]
        let ordered = outcomes.enumerated().sorted {
            (rank[$0.element.status] ?? 2, $0.offset) < (rank[$1.element.status] ?? 2, $1.offset)
        }.map(\.element)
        return ordered.map { outcome in
            [outcome.slug, outcome.status.rawValue, String(format: "%.1fs", Double(outcome.durationMilliseconds) / 1000), detail(outcome)]
        }
    }

    /// The error, or the summary followed by any warnings.
    static func detail(_ outcome: VenueOutcome) -> String {
        if let error = outcome.error { return error }
        return outcome.summary + (outcome.warnings.isEmpty ? "" : " — warnings: " + outcome.warnings.joined(separator: "; "))
    }

    /// One line per server of `check`, `backup` and `sweep`: what no venue covers, what gwi-fleet left.
    static func coverageLines(_ report: RunReport) -> String? {
        guard let servers = report.totals.coverage, !servers.isEmpty else { return nil }
        return servers.map { server in
            if let error = server.error { return "coverage of \(server.server): not checked: \(error)" }
            let describe = { (database: Coverage.Database) -> String in
                var parts = [database.name]
                if let bytes = database.bytes { parts.append(ByteCount.human(bytes)) }
                if let age = database.ageSeconds { parts.append(Terminal.age(TimeInterval(age)) + " old") }
                if database.ignored { parts.append("ignored") }
                return parts.count == 1 ? parts[0] : parts[0] + " (" + parts.dropFirst().joined(separator: ", ") + ")"
            }
            let uncovered = server.uncovered.filter { !$0.ignored }, leftovers = server.leftovers
            var line = "coverage of \(server.server): \(uncovered.count) uncovered"
            if !uncovered.isEmpty { line += " [" + uncovered.prefix(10).map(describe).joined(separator: "; ") + (uncovered.count > 10 ? "; …" : "") + "]" }
            if server.uncovered.count > uncovered.count { line += " (\(server.uncovered.count - uncovered.count) ignored)" }
            line += ", \(leftovers.count) leftovers"
            if !leftovers.isEmpty { line += " [" + leftovers.prefix(10).map(describe).joined(separator: "; ") + (leftovers.count > 10 ? "; …" : "") + "] (gwi-fleet leftovers)" }
            let copies = server.restoredCopies
            if !copies.isEmpty {
                line += ", \(copies.count) restored copies [" + copies.prefix(10).map { describe($0) + " of \($0.venue ?? "?")" }.joined(separator: "; ")
                    + (copies.count > 10 ? "; …" : "") + "]"
            }
            return line
        }.joined(separator: "\n")
    }

    static func totals(_ report: RunReport) -> String {
        let counts = report.counts
        var text = "\(counts.ok) ok, "
        if counts.warning > 0 { text += "\(counts.warning) warning, " }
        let failed = report.outcomes.filter { $0.status == .failed }.map(\.slug)
        text += "\(counts.failed) failed"
        if !failed.isEmpty { text += " (" + failed.prefix(10).joined(separator: ", ") + (failed.count > 10 ? ", and \(failed.count - 10) more" : "") + ")" }
        text += ", \(counts.skipped) skipped"
        text += String(format: " in %.1fs", report.finishedAt.timeIntervalSince(report.startedAt))
        if report.interrupted { text += " (interrupted)" }
        for problem in report.problems { text += "\nproblem: \(problem)" }
        return text
    }

    /// Per-table figures of the tabular commands.
    static func detailTable(_ report: RunReport) -> Details? {
        switch report.command {
        case SizesResult.command:
            var list = report.outcomes.flatMap { outcome in
                (outcome.result(as: SizesResult.self)?.largestTables ?? []).map { sizeRow(outcome.slug, $0) }
            }
            if let bytes = report.totals.databaseBytes {
                list.append(Details.Row(raw: ["(fleet)", "(all databases)", String(bytes), "", "", ""],
                                        human: ["(fleet)", "(all databases)", ByteCount.human(bytes), "", "", ""]))
            }
            return Details(title: "Largest tables", headers: ["venue", "table", "total_bytes", "table_bytes", "index_bytes", "toast_bytes"],
                           rows: list)
        case CountsResult.command, SweepResult.command:
            let list = report.outcomes.flatMap { outcome in
                (outcome.result(as: CountsResult.self)?.counts ?? outcome.result(as: SweepResult.self)?.counts ?? []).map { row in
                    let raw = [outcome.slug, row.table, String(row.rows), row.backupRows.map(String.init) ?? "", row.drift.map(String.init) ?? ""]
                    return Details.Row(raw: raw, human: raw)
                }
            }
            return Details(title: "Row counts", headers: ["venue", "table", "rows", "backup_rows", "drift"], rows: list)
        default:
            return nil
        }
    }

    static func sizeRow(_ slug: String, _ row: SizesResult.Table) -> Details.Row {
        let bytes = [row.totalBytes, row.tableBytes, row.indexBytes, row.toastBytes]
        return Details.Row(raw: [slug, row.table] + bytes.map(String.init), human: [slug, row.table] + bytes.map(ByteCount.human))
    }

    static func csv(_ headers: [String], _ rows: [[String]]) -> String { TableText.csv(headers, rows) }

    static func markdown(_ headers: [String], _ rows: [[String]]) -> String { TableText.markdown(headers, rows) }
}

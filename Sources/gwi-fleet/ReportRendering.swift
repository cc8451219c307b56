import ArgumentParser
import FleetEngine
import Foundation

/// How a report is shown: a terminal table, Markdown (for a ticket or a wiki) or CSV.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case table, markdown, csv
}

/// Renders a report from its JSON alone, so a saved report renders the same as a fresh one.
enum ReportRendering {
    static func render(_ report: JSONValue, format: ReportFormat, savedAt path: String? = nil,
                       statusTable: Bool = true, color: Bool = false) -> String {
        let command = report["command"]?.stringValue ?? "?"
        let venues = report["venues"]?.arrayValue ?? []
        let status = statusRows(venues)
        let details = detailTable(command: command, venues: venues, report: report).flatMap { $0.rows.isEmpty ? nil : $0 }
        switch format {
        case .csv:
            if let details { return csv(details.headers, details.rows.map { $0.raw }) }
            return csv(["venue", "database", "status", "duration_ms", "error", "summary"], venues.map { venue in
                [text(venue["slug"]), text(venue["database"]), text(venue["status"]), text(venue["duration_ms"]),
                 text(venue["error"]), detail(venue)]
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
            var parts = ["## gwi-fleet \(command)", "Started \(text(report["started_at"])), finished \(text(report["finished_at"])). **\(totals(report))**",
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
    static func quiet(_ report: JSONValue) -> String {
        let failed = (report["venues"]?.arrayValue ?? []).filter { $0["status"] == .string("failed") }
        return (failed.map { "\(text($0["slug"])): failed: \(text($0["error"]))" } + [totals(report)]).joined(separator: "\n")
    }

    /// Failed venues first, then warnings, then the rest, each group in fleet order.
    static func statusRows(_ venues: [JSONValue]) -> [[String]] {
        let rank = ["failed": 0, "warning": 1]
        let ordered = venues.enumerated().sorted {
            (rank[text($0.element["status"])] ?? 2, $0.offset) < (rank[text($1.element["status"])] ?? 2, $1.offset)
        }.map(\.element)
        return ordered.map { venue in
            let milliseconds = venue["duration_ms"]?.intValue ?? 0
            return [text(venue["slug"]), text(venue["status"]), String(format: "%.1fs", Double(milliseconds) / 1000), detail(venue)]
        }
    }

    /// The error, or the summary followed by any warnings.
    static func detail(_ venue: JSONValue) -> String {
        if let error = venue["error"]?.stringValue { return error }
        var text = venue["summary"]?.stringValue ?? ""
        if case .array(let warnings)? = venue["warnings"], !warnings.isEmpty {
            text += " — warnings: " + warnings.compactMap(\.stringValue).joined(separator: "; ")
        }
        return text
    }

    /// One line per server of `check`, `backup` and `sweep`: what no venue covers, what gwi-fleet left.
    static func coverageLines(_ report: JSONValue) -> String? {
        guard let servers = report["fleet_totals"]?["coverage"]?.arrayValue, !servers.isEmpty else { return nil }
        return servers.map { server in
            let name = text(server["server"])
            if let error = server["error"]?.stringValue { return "coverage of \(name): not checked: \(error)" }
            let describe = { (database: JSONValue) -> String in
                var parts = [text(database["database"])]
                if let bytes = database["bytes"]?.intValue { parts.append(ByteCount.human(bytes)) }
                if let age = database["age_seconds"]?.intValue { parts.append(Terminal.age(TimeInterval(age)) + " old") }
                if database["ignored"] == .bool(true) { parts.append("ignored") }
                return parts.count == 1 ? parts[0] : parts[0] + " (" + parts.dropFirst().joined(separator: ", ") + ")"
            }
            let all = server["uncovered"]?.arrayValue ?? [], leftovers = server["leftovers"]?.arrayValue ?? []
            let uncovered = all.filter { $0["ignored"] != .bool(true) }
            var line = "coverage of \(name): \(uncovered.count) uncovered"
            if !uncovered.isEmpty { line += " [" + uncovered.prefix(10).map(describe).joined(separator: "; ") + (uncovered.count > 10 ? "; …" : "") + "]" }
            if all.count > uncovered.count { line += " (\(all.count - uncovered.count) ignored)" }
            line += ", \(leftovers.count) leftovers"
            if !leftovers.isEmpty { line += " [" + leftovers.prefix(10).map(describe).joined(separator: "; ") + (leftovers.count > 10 ? "; …" : "") + "] (gwi-fleet leftovers)" }
            return line
        }.joined(separator: "\n")
    }

    static func totals(_ report: JSONValue) -> String {
        let summary = report["summary"]
        let count = { (key: String) in summary?[key]?.intValue ?? 0 }
        var text = "\(count("ok")) ok, "
        if count("warning") > 0 { text += "\(count("warning")) warning, " }
        let failed = (report["venues"]?.arrayValue ?? []).filter { $0["status"] == .string("failed") }.compactMap { $0["slug"]?.stringValue }
        text += "\(count("failed")) failed"
        if !failed.isEmpty { text += " (" + failed.prefix(10).joined(separator: ", ") + (failed.count > 10 ? ", and \(failed.count - 10) more" : "") + ")" }
        text += ", \(count("skipped")) skipped"
        if let started = report["started_at"]?.stringValue.flatMap(Timestamp.parse),
           let finished = report["finished_at"]?.stringValue.flatMap(Timestamp.parse) {
            text += String(format: " in %.1fs", finished.timeIntervalSince(started))
        }
        if report["interrupted"] == .bool(true) { text += " (interrupted)" }
        for problem in report["problems"]?.arrayValue ?? [] { text += "\nproblem: \(problem.stringValue ?? "")" }
        return text
    }

    /// Per-table figures of the tabular commands.
    static func detailTable(command: String, venues: [JSONValue], report: JSONValue) -> Details? {
        func rows(_ key: String, _ make: (String, JSONValue) -> Details.Row) -> [Details.Row] {
            venues.flatMap { venue -> [Details.Row] in
                guard case .array(let items)? = venue[key] else { return [] }
                return items.map { make(text(venue["slug"]), $0) }
            }
        }
        switch command {
        case "sizes":
            var list = rows("largest_tables") { slug, row in sizeRow(slug, row) }
            if let totals = report["fleet_totals"] {
                let bytes = totals["database_bytes"]?.intValue ?? 0
                list.append(Details.Row(raw: ["(fleet)", "(all databases)", String(bytes), "", "", ""],
                                        human: ["(fleet)", "(all databases)", ByteCount.human(bytes), "", "", ""]))
            }
            return Details(title: "Largest tables", headers: ["venue", "table", "total", "table_bytes", "index_bytes", "toast_bytes"]
                .map { $0 == "total" ? "total_bytes" : $0 }, rows: list)
        case "counts", "sweep":
            let list = rows("counts") { slug, row in
                let raw = [slug, text(row["table"]), text(row["rows"]), text(row["backup_rows"]), text(row["drift"])]
                return Details.Row(raw: raw, human: raw)
            }
            return Details(title: "Row counts", headers: ["venue", "table", "rows", "backup_rows", "drift"], rows: list)
        default:
            return nil
        }
    }

    static func sizeRow(_ slug: String, _ row: JSONValue) -> Details.Row {
        let bytes = ["total_bytes", "table_bytes", "index_bytes", "toast_bytes"].map { row[$0]?.intValue ?? 0 }
        return Details.Row(raw: [slug, text(row["table"])] + bytes.map(String.init),
                           human: [slug, text(row["table"])] + bytes.map(ByteCount.human))
    }

    static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let s)?: s
        case .int(let i)?: String(i)
        case .double(let d)?: String(d)
        case .bool(let b)?: String(b)
        default: ""
        }
    }

    static func csv(_ headers: [String], _ rows: [[String]]) -> String { TableText.csv(headers, rows) }

    static func markdown(_ headers: [String], _ rows: [[String]]) -> String { TableText.markdown(headers, rows) }
}

import Foundation
import Mustache

/// The compliance report as one self-contained HTML page: inline CSS and SVG, no script, no
/// external reference, laid out for A4 and letter. Rendered with a Mustache template
/// (hummingbird-project/swift-mustache): the page's markup sits in one reviewable template
/// instead of string concatenation, and every `{{value}}` is HTML-escaped by the engine, so
/// nothing from a database, a file name or an error message can become markup.
public enum ComplianceHTML {
    /// The page, its footer stating the SHA-256 of every byte before the footer line (`footerMark`).
    public static func render(_ report: ComplianceReport) throws -> String {
        let template = try MustacheTemplate(string: ComplianceTemplate.page)
        var page = Page(report)
        // The footer is the only part that depends on the digest: render, hash what precedes it, render again.
        guard let digest = digestBeforeFooter(template.render(page)) else { preconditionFailure("the template ends with a footer line") }
        page.pageSha256 = digest
        return template.render(page)
    }

    // MARK: - What the template sees: every value already formatted as text

    struct Figure { var name: String; var value: String }
    struct Cell { var cls: String; var mark: String; var title: String }
    struct GridRow { var slug: String; var label: String; var cls: String; var cells: [Cell] }
    struct DayHead { var label: String; var title: String; var cls: String }
    struct MonthHead { var name: String; var title: String; var span: Int }
    /// One table of the grid: the whole period, or up to four weeks of a longer one.
    struct GridBlock { var months: [MonthHead]; var days: [DayHead]; var rows: [GridRow] }
    struct Bar { var x: String; var y: String; var width: String; var height: String; var title: String }
    struct Tick { var x: String; var y: String; var label: String }
    struct Chart { var title: String; var maxLabel: String; var bars: [Bar]; var yTicks: [Tick]; var xTicks: [Tick]; var empty: Bool }
    struct VenueLine { var cls: String; var cells: [String] }
    struct Detail { var slug: String; var verdict: String; var lines: [String] }

    struct Page {
        var title: String
        var period: String
        var generated: String
        var verdict: String
        var verdictClass: String
        var fleet: [Figure]
        var policy: [Figure]
        var grids: [GridBlock]
        var provenance: [Figure]
        var pageSha256 = ""
        var venueHeaders: [String]
        var venues: [VenueLine]
        var charts: [Chart]
        var details: [Detail]
        var hasDetails: Bool

        init(_ report: ComplianceReport) {
            period = ComplianceText.period(report)
            title = "Backup compliance: " + period
            generated = "Generated \(ComplianceText.when(report.generatedAt)) from the \(report.source) backup catalog and the saved reports; no venue was touched."
            verdict = ComplianceText.verdict(report)
            verdictClass = report.summary.notCompliant == 0 ? "pass" : "fail"
            fleet = ComplianceText.fleetFigures(report).map { Figure(name: $0[0], value: $0[1]) }
            policy = ComplianceText.policyFigures(report).map { Figure(name: $0[0], value: $0[1]) }
            let rows = report.venues.map { venue in
                GridRow(slug: venue.slug, label: venue.enabled ? venue.slug : venue.slug + " (disabled)",
                        cls: venue.enabled ? "" : "disabled", cells: venue.days.map { day in
                    let offsite = day.offsite == true
                    var title = "\(venue.slug) \(day.day): " + (day.state == .notInScope ? "not in scope (before the venue's first backup)" : day.state.rawValue)
                    if let off = day.offsite { title += off ? ", off-site" : ", not off-site" }
                    if let encrypted = day.encrypted { title += encrypted ? ", encrypted" : ", not encrypted" }
                    if day.failedAttempts > 0 { title += ", \(day.failedAttempts) failed attempt(s)" }
                    guard venue.enabled else { return Cell(cls: "disabled", mark: "", title: title + "; venue disabled, not judged") }
                    return Cell(cls: day.state.rawValue + (offsite ? " off" : ""), mark: ComplianceText.dayMark(day), title: title)
                })
            }
            grids = Self.blocks(report.period.days).map { range in
                GridBlock(months: Self.months(report.period.days[range]), days: report.period.days[range].map { day in
                    DayHead(label: String(day.suffix(2)), title: day, cls: Self.weekday(day) == 1 ? "monday" : "")
                }, rows: rows.map { row in
                    var row = row
                    row.cells = Array(row.cells[range])
                    return row
                })
            }
            provenance = [
                Figure(name: "generated", value: ComplianceText.when(report.generatedAt)),
                Figure(name: "source", value: "the \(report.source) backup catalog, the verification records and the saved reports"),
            ] + (report.provenance.map { made in [
                Figure(name: "gwi-fleet", value: made.version),
                Figure(name: "host", value: made.host),
                Figure(name: "user", value: made.user),
                Figure(name: "command line", value: made.commandLine.map(Self.shellWord).joined(separator: " ")),
            ] } ?? [])
            venueHeaders = ComplianceText.venueHeaders
            venues = report.venues.map { VenueLine(cls: $0.verdict.rawValue, cells: ComplianceText.venueRow($0)) }
            let daily = report.summary.daily
            charts = [
                Self.chart("Bytes of the backups taken per day (whole fleet)", daily.map { Double($0.bytes) }, daily: daily,
                           label: { ByteCount.human(Int($0)) }),
                Self.chart("Longest backup duration per day", daily.map { $0.longestSeconds ?? 0 }, daily: daily,
                           label: ComplianceText.seconds),
            ]
            details = report.venues.compactMap { venue in
                var lines = venue.reasons.map { "\($0.code.rawValue): \($0.text)" }
                lines += venue.failedAttempts.map { "failed attempt \(ComplianceText.when($0.at)): \($0.error)" }
                lines += venue.backups.filter { $0.reason != nil || !$0.mismatches.isEmpty }.map { backup in
                    "\(backup.file) (\(backup.state.rawValue)): " + ([backup.reason].compactMap { $0 } + backup.mismatches).joined(separator: "; ")
                }
                return lines.isEmpty ? nil : Detail(slug: venue.slug, verdict: venue.verdict.rawValue, lines: lines)
            }
            hasDetails = !details.isEmpty
        }

        /// The period's days cut into grid tables: one for up to 31 days, else blocks of at most
        /// four weeks, each new one starting on a Monday (the grid wraps by week).
        static func blocks(_ days: [String]) -> [Range<Int>] {
            guard days.count > 31 else { return [days.indices] }
            var blocks: [Range<Int>] = [], start = 0
            for index in days.indices where index > start && weekday(days[index]) == 1 && index - start > 21 {
                blocks.append(start..<index)
                start = index
            }
            return blocks + [start..<days.count]
        }

        /// The months of some days, with how many of the days each has (`November 2026`, 12); a
        /// month of one or two days is shortened to fit its columns (`Dec`, the full name as its title).
        static func months(_ days: ArraySlice<String>) -> [MonthHead] {
            var months: [MonthHead] = []
            for day in days {
                let name = monthName(day)
                if months.last?.title == name { months[months.count - 1].span += 1 } else { months.append(MonthHead(name: name, title: name, span: 1)) }
            }
            return months.map { month in
                var month = month
                if month.span < 3 { month.name = String(month.title.prefix(3)) } else if month.span < 6 { month.name = String(month.title.prefix(3) + month.title.suffix(5)) }
                return month
            }
        }

        static func monthName(_ day: String) -> String {
            let names = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
            let month = Int(day.dropFirst(5).prefix(2)) ?? 1
            return names[max(0, min(11, month - 1))] + " " + day.prefix(4)
        }

        /// 1 for Monday … 7 for Sunday, of a `2026-11-26` day.
        static func weekday(_ day: String) -> Int {
            guard let date = Timestamp.parse(day + "T00:00:00Z") else { return 0 }
            let days = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
            return ((days + 3) % 7 + 7) % 7 + 1  // 1970-01-01 was a Thursday
        }

        /// An argument as a shell would need it written (quoted when it holds anything but plain
        /// characters; the `***` of a redacted secret is left as it is).
        static func shellWord(_ word: String) -> String {
            let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@%+*".contains($0) }
            return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }

        /// A bar chart with its axes in a 700 × 170 box (the template's viewBox): the plot from
        /// x 70 to 690 and y 10 to 140, the value axis labelled at 0, half and the highest, the
        /// day axis at each Monday (or the first day).
        static func chart(_ title: String, _ values: [Double], daily: [ComplianceReport.FleetDay], label: (Double) -> String) -> Chart {
            let maximum = values.max() ?? 0
            let left = 70.0, plotWidth = 620.0, top = 10.0, height = 130.0
            let width = plotWidth / Double(max(1, values.count))
            let bars = zip(values, daily).enumerated().compactMap { index, pair -> Bar? in
                let (value, day) = pair
                guard maximum > 0, value > 0 else { return nil }
                let h = max(1, value / maximum * height)
                return Bar(x: format(left + Double(index) * width + 1), y: format(top + height - h), width: format(max(1, width - 2)),
                           height: format(h), title: "\(day.day): \(label(value)), \(day.backups) backups")
            }
            let yTicks = (maximum > 0 ? [0, 0.5, 1] : [0]).map { share in
                Tick(x: format(left - 4), y: format(top + height - share * height), label: share == 0 ? "0" : label(maximum * share))
            }
            let xTicks = daily.enumerated().filter { index, day in index == 0 || weekday(day.day) == 1 }.map { index, day in
                Tick(x: format(left + (Double(index) + 0.5) * width), y: format(top + height), label: String(day.day.dropFirst(5)))
            }
            return Chart(title: title, maxLabel: maximum > 0 ? label(maximum) : "none", bars: bars, yTicks: yTicks, xTicks: xTicks,
                         empty: bars.isEmpty)
        }

        static func format(_ value: Double) -> String { String(format: "%.1f", value) }
    }
}

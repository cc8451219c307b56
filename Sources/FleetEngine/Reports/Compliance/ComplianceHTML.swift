import Foundation
import Mustache

/// The compliance report as one self-contained HTML page: inline CSS and SVG, no script, no
/// external reference, laid out for A4 and letter. Rendered with a Mustache template
/// (hummingbird-project/swift-mustache): the page's markup sits in one reviewable template
/// instead of string concatenation, and every `{{value}}` is HTML-escaped by the engine, so
/// nothing from a database, a file name or an error message can become markup.
public enum ComplianceHTML {
    public static func render(_ report: ComplianceReport) throws -> String {
        let template = try MustacheTemplate(string: ComplianceTemplate.page)
        return template.render(Page(report))
    }

    // MARK: - What the template sees: every value already formatted as text

    struct Figure { var name: String; var value: String }
    struct Cell { var cls: String; var mark: String; var title: String }
    struct GridRow { var slug: String; var cells: [Cell] }
    struct DayHead { var label: String; var title: String }
    struct Bar { var x: String; var y: String; var width: String; var height: String; var title: String }
    struct Chart { var title: String; var maxLabel: String; var bars: [Bar]; var first: String; var last: String; var empty: Bool }
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
        var days: [DayHead]
        var grid: [GridRow]
        var venueHeaders: [String]
        var venues: [VenueLine]
        var charts: [Chart]
        var details: [Detail]
        var hasDetails: Bool

        init(_ report: ComplianceReport) {
            period = ComplianceText.period(report)
            title = "Backup compliance: " + period
            generated = "Generated \(Timestamp.iso8601(report.generatedAt)) from the \(report.source) backup catalog and the saved reports; no venue was touched."
            verdict = ComplianceText.verdict(report)
            verdictClass = report.summary.notCompliant == 0 ? "pass" : "fail"
            fleet = ComplianceText.fleetFigures(report).map { Figure(name: $0[0], value: $0[1]) }
            policy = ComplianceText.policyFigures(report).map { Figure(name: $0[0], value: $0[1]) }
            days = report.period.days.map { DayHead(label: String($0.suffix(2)), title: $0) }
            grid = report.venues.map { venue in
                GridRow(slug: venue.slug, cells: venue.days.map { day in
                    let offsite = day.offsite == true
                    var title = "\(venue.slug) \(day.day): \(day.state.rawValue)"
                    if let off = day.offsite { title += off ? ", off-site" : ", not off-site" }
                    if let encrypted = day.encrypted { title += encrypted ? ", encrypted" : ", not encrypted" }
                    if day.failedAttempts > 0 { title += ", \(day.failedAttempts) failed attempt(s)" }
                    return Cell(cls: day.state.rawValue + (offsite ? " off" : ""), mark: ComplianceText.dayMark(day), title: title)
                })
            }
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
                lines += venue.failedAttempts.map { "failed attempt \(Timestamp.iso8601($0.at)): \($0.error)" }
                lines += venue.backups.filter { $0.reason != nil || !$0.mismatches.isEmpty }.map { backup in
                    "\(backup.file) (\(backup.state.rawValue)): " + ([backup.reason].compactMap { $0 } + backup.mismatches).joined(separator: "; ")
                }
                return lines.isEmpty ? nil : Detail(slug: venue.slug, verdict: venue.verdict.rawValue, lines: lines)
            }
            hasDetails = !details.isEmpty
        }

        /// A bar chart in a 700 × 150 box (the template's viewBox).
        static func chart(_ title: String, _ values: [Double], daily: [ComplianceReport.FleetDay], label: (Double) -> String) -> Chart {
            let maximum = values.max() ?? 0
            let width = 700.0 / Double(max(1, values.count)), height = 130.0
            let bars = zip(values, daily).enumerated().compactMap { index, pair -> Bar? in
                let (value, day) = pair
                guard maximum > 0, value > 0 else { return nil }
                let h = max(1, value / maximum * height)
                return Bar(x: format(Double(index) * width + 1), y: format(10 + height - h), width: format(max(1, width - 2)),
                           height: format(h), title: "\(day.day): \(label(value)), \(day.backups) backups")
            }
            return Chart(title: title, maxLabel: maximum > 0 ? label(maximum) : "none", bars: bars,
                         first: daily.first?.day ?? "", last: daily.last?.day ?? "", empty: bars.isEmpty)
        }

        static func format(_ value: Double) -> String { String(format: "%.1f", value) }
    }
}

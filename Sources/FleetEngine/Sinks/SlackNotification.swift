import FleetModel
import Foundation

/// `format: slack`: a readable message, on the target's triggers.
struct SlackNotification: NotificationFormat {
    func finished(_ ending: RunEnding, target: NotifyTarget) -> NotificationRequest? {
        guard let event = ending.trigger(for: target) else { return nil }
        return NotificationRequest(url: target.url, body: Self.slack(ending.report, event: event), event: event.rawValue)
    }

    /// The `slack` format: failed venues first (20 at most, then "and N more"), `&<>` escaped.
    static func slack(_ report: RunReport, event: NotifyTarget.Trigger) -> Data {
        let escape = { (text: String) in
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        let failed = report.outcomes.filter { $0.status == .failed }
        let headline: String = switch event {
        case .failure: ":red_circle: gwi-fleet \(report.command) failed: \(failed.count) of \(report.outcomes.count) venues failed"
        case .recovery: ":large_green_circle: gwi-fleet \(report.command) recovered: every venue ok again"
        default: ":white_check_mark: gwi-fleet \(report.command): \(report.count(.ok)) ok"
        }
        var lines = [escape(headline) + " (run \(escape(report.runID)))"]
        for outcome in failed.prefix(20) { lines.append("• *\(escape(outcome.slug))*: \(escape(outcome.error ?? "failed"))") }
        if failed.count > 20 { lines.append("… and \(failed.count - 20) more") }
        for problem in report.problems.prefix(5) { lines.append("• problem: \(escape(problem))") }
        lines.append("\(report.count(.ok)) ok, \(report.count(.warning)) warning, \(failed.count) failed, \(report.count(.skipped)) skipped")
        return Data(JSONCoding.text(["text": lines.joined(separator: "\n")]).utf8)
    }
}

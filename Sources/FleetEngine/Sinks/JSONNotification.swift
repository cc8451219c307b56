import FleetModel
import Foundation

/// `format: json`: the documented payload (README), on the target's triggers.
struct JSONNotification: NotificationFormat {
    func finished(_ ending: RunEnding, target: NotifyTarget) -> NotificationRequest? {
        guard let event = ending.trigger(for: target) else { return nil }
        return NotificationRequest(url: target.url, body: Self.payload(ending.report, savedAt: ending.savedAt, event: event.rawValue),
                                   event: event.rawValue)
    }

    /// The `json` format, documented in the README.
    static func payload(_ report: RunReport, savedAt: String?, event: String) -> Data {
        let failed = report.outcomes.filter { $0.status == .failed }
        let payload = Payload(event: event, command: report.command, runID: report.runID, fleet: report.fleet.path,
                              startedAt: report.startedAt, finishedAt: report.finishedAt, exitCode: Int(report.exitCode),
                              summary: report.counts, failed: failed.map { Payload.Failed(venue: $0.slug, error: $0.error) },
                              problems: report.problems, report: savedAt)
        return Data(JSONCoding.text(payload).utf8)
    }

    /// The `json` format's body.
    struct Payload: Encodable {
        struct Failed: Encodable {
            var venue: String
            var error: String?
            func encode(to encoder: Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(venue, forKey: .venue)
                try container.encode(error, forKey: .error)
            }
            enum CodingKeys: String, CodingKey { case venue, error }
        }
        var event: String
        var command: String
        var runID: String
        var fleet: String
        var startedAt: Date
        var finishedAt: Date
        var exitCode: Int
        var summary: RunReport.Counts
        var failed: [Failed]
        var problems: [String]
        var report: String?

        enum CodingKeys: String, CodingKey {
            case event, command, runID = "run_id", fleet, startedAt = "started_at", finishedAt = "finished_at", exitCode = "exit_code"
            case summary, failed, problems, report
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(event, forKey: .event)
            try container.encode(command, forKey: .command)
            try container.encode(runID, forKey: .runID)
            try container.encode(fleet, forKey: .fleet)
            try container.encode(startedAt, forKey: .startedAt)
            try container.encode(finishedAt, forKey: .finishedAt)
            try container.encode(exitCode, forKey: .exitCode)
            try container.encode(summary, forKey: .summary)
            try container.encode(failed, forKey: .failed)
            try container.encode(problems, forKey: .problems)
            try container.encode(report, forKey: .report)
        }
    }
}

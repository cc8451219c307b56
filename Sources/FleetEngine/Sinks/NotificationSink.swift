import FleetBasics
import FleetModel
import Foundation
import Logging
import Synchronization

/// Sends a run's outcome to the fleet file's `notify:` webhooks when the run ends: `json` (a
/// documented payload), `slack` (a readable message) or `healthchecks` (start, success and fail
/// pings). A notification that cannot be delivered is logged and recorded in the report; it never
/// changes the run's exit code. Nothing sent holds a password or a URL credential.
public final class NotificationSink: RunSink {
    let targets: [NotifyTarget]
    let reportsDirectory: String
    let client: WebhookClient
    let logger: Logger
    private let results = Mutex<[NotificationDelivery]>([])

    public init(targets: [NotifyTarget], reportsDirectory: String, logger: Logger = RunContext.silent) {
        self.targets = targets
        self.reportsDirectory = reportsDirectory
        self.client = WebhookClient()
        self.logger = logger
    }

    public func receive(_ event: RunEvent) async {
        switch event {
        case .started(let command, _, _):
            for target in targets where target.format == .healthchecks && applies(target, to: command) {
                await deliver(target, url: target.url + "/start", method: "POST", body: nil, event: "start")
            }
        case .finished(let report, let savedAt):
            let failed = report.exitCode != ExitCodes.ok
            let directory = reportsDirectory
            let previous = failed ? nil : await BlockingExecutor.shared.run { Self.previousExitCode(of: report, in: directory) }
            let recovered = previous.map { $0 != ExitCodes.ok } ?? false
            for target in targets where applies(target, to: report.command) {
                if target.format == .healthchecks {
                    await deliver(target, url: target.url + (failed ? "/fail" : ""), method: "POST",
                                  body: Self.payload(report, savedAt: savedAt, event: failed ? "failure" : "success"), event: failed ? "failure" : "success")
                    continue
                }
                let event: NotifyTarget.Trigger? =
                    failed && (target.on.contains(.failure) || target.on.contains(.always)) ? .failure
                    : recovered && (target.on.contains(.recovery) || target.on.contains(.always)) ? .recovery
                    : !failed && (target.on.contains(.success) || target.on.contains(.always)) ? .success : nil
                guard let event else { continue }
                let body = target.format == .slack ? Self.slack(report, event: event) : Self.payload(report, savedAt: savedAt, event: event.rawValue)
                await deliver(target, url: target.url, method: "POST", body: body, event: event.rawValue)
            }
        default:
            break
        }
    }

    /// What was sent where, for the report.
    public var deliveries: [NotificationDelivery] { results.withLock { $0 } }

    public func complete(_ report: inout RunReport) {
        let sent = deliveries
        if !sent.isEmpty { report.notifications = sent }
    }

    func applies(_ target: NotifyTarget, to command: String) -> Bool {
        target.commands?.contains(command) ?? true
    }

    func deliver(_ target: NotifyTarget, url: String, method: String, body: Data?, event: String) async {
        let failure = await client.send(url, method: method, json: body)
        if let failure { logger.warning("notification not delivered", metadata: ["to": .string(target.shownURL), "error": .string(failure)]) }
        results.withLock {
            $0.append(NotificationDelivery(to: target.shownURL, format: target.format.rawValue, event: event, delivered: failure == nil,
                                           error: failure))
        }
    }

    /// The exit code of the previous run of the same command, from the reports directory.
    static func previousExitCode(of report: RunReport, in directory: String) -> Int32? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix(report.command + "-") && $0.hasSuffix(".json") && !$0.contains("-shard") && !$0.contains(report.runID) }
        var best: (Date, Int32)?
        for name in names {
            guard let header = RunReport.Header.read(directory + "/" + name), header.command == report.command,
                  let started = header.startedAt, started < report.startedAt, let code = header.exitCode else { continue }
            if best == nil || started > best!.0 { best = (started, Int32(code)) }
        }
        return best?.1
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

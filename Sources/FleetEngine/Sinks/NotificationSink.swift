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
    private let results = Mutex<[JSONValue]>([])

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
            let recovered = !failed && (Self.previousExitCode(of: report, in: reportsDirectory).map { $0 != ExitCodes.ok } ?? false)
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
    public var deliveries: [JSONValue] { results.withLock { $0 } }

    public func reportAdditions() -> [(String, JSONValue)] {
        let sent = deliveries
        return sent.isEmpty ? [] : [("notifications", .array(sent))]
    }

    func applies(_ target: NotifyTarget, to command: String) -> Bool {
        target.commands?.contains(command) ?? true
    }

    func deliver(_ target: NotifyTarget, url: String, method: String, body: Data?, event: String) async {
        let failure = await client.send(url, method: method, json: body)
        if let failure { logger.warning("notification not delivered", metadata: ["to": .string(target.shownURL), "error": .string(failure)]) }
        results.withLock {
            $0.append(.object([("to", .string(target.shownURL)), ("format", .string(target.format.rawValue)), ("event", .string(event)),
                               ("delivered", .bool(failure == nil)), ("error", failure.map(JSONValue.string) ?? .null)]))
        }
    }

    /// The exit code of the previous run of the same command, from the reports directory.
    static func previousExitCode(of report: RunReport, in directory: String) -> Int32? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix(report.command + "-") && $0.hasSuffix(".json") && !$0.contains("-shard") && !$0.contains(report.runID) }
        var best: (Date, Int32)?
        for name in names {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name),
                  let json = try? JSONDecoder().decode(JSONValue.self, from: data), json["command"]?.stringValue == report.command,
                  let started = json["started_at"]?.stringValue.flatMap(Timestamp.parse), started < report.startedAt,
                  let code = json["exit_code"]?.intValue else { continue }
            if best == nil || started > best!.0 { best = (started, Int32(code)) }
        }
        return best?.1
    }

    /// The `json` format, documented in the README.
    static func payload(_ report: RunReport, savedAt: String?, event: String) -> Data {
        let failed = report.outcomes.filter { $0.status == .failed }
        let json = JSONValue.object([
            ("event", .string(event)),
            ("command", .string(report.command)),
            ("run_id", .string(report.runID)),
            ("fleet", .string(report.fleet.path)),
            ("started_at", .string(Timestamp.iso8601(report.startedAt))),
            ("finished_at", .string(Timestamp.iso8601(report.finishedAt))),
            ("exit_code", .int(Int(report.exitCode))),
            ("summary", .object([("ok", .int(report.count(.ok))), ("warning", .int(report.count(.warning))),
                                 ("failed", .int(failed.count)), ("skipped", .int(report.count(.skipped)))])),
            ("failed", .array(failed.map { .object([("venue", .string($0.slug)), ("error", $0.error.map(JSONValue.string) ?? .null)]) })),
            ("problems", .array(report.problems.map(JSONValue.string))),
            ("report", savedAt.map(JSONValue.string) ?? .null),
        ])
        return Data(json.serialized().utf8)
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
        return Data(JSONValue.object([("text", .string(lines.joined(separator: "\n")))]).serialized().utf8)
    }
}

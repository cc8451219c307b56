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
            // A start ping gets one try's time: it must not hold the run's own notifications.
            var starting = client
            starting.budget = client.timeout
            let requests = targets.filter { applies($0, to: command) }.flatMap { target in
                NotificationFormats.format(target.format).started(target).map { (target, $0) }
            }
            await deliverAll(requests, with: starting)
        case .finished(let report, let savedAt):
            let failed = report.exitCode != ExitCodes.ok
            let directory = reportsDirectory
            let previous = failed ? nil : await BlockingExecutor.shared.run { Self.previousExitCode(of: report, in: directory) }
            let ending = RunEnding(report: report, savedAt: savedAt, failed: failed, recovered: previous.map { $0 != ExitCodes.ok } ?? false)
            let requests = targets.filter { applies($0, to: report.command) }.compactMap { target in
                NotificationFormats.format(target.format).finished(ending, target: target).map { (target, $0) }
            }
            await deliverAll(requests, with: client)
        default:
            break
        }
    }

    /// What was sent where, for the report.
    public var deliveries: [NotificationDelivery] { results.withLock { $0 } }

    public func complete(_ report: inout RunReport) -> Bool {
        let sent = deliveries
        guard !sent.isEmpty else { return false }
        report.notifications = sent
        return true
    }

    func applies(_ target: NotifyTarget, to command: String) -> Bool {
        target.commands?.contains(command) ?? true
    }

    /// Every target at once: the run waits for the slowest, never for their sum.
    func deliverAll(_ requests: [(NotifyTarget, NotificationRequest)], with client: WebhookClient) async {
        await withTaskGroup(of: Void.self) { group in
            for (target, request) in requests { group.addTask { await self.deliver(target, request, with: client) } }
        }
    }

    func deliver(_ target: NotifyTarget, _ request: NotificationRequest, with client: WebhookClient) async {
        let (url, body, event) = (request.url, request.body, request.event)
        let failure = await client.send(url, method: "POST", json: body)
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
}

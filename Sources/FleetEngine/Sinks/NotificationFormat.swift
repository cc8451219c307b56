import FleetModel
import Foundation

/// How one `notify:` format speaks (`json`, `slack`, `healthchecks`): what it sends when a run
/// starts and when it ends. A new format is one type of this and one line in `NotificationFormats`.
protocol NotificationFormat: Sendable {
    /// What to send when a run starts; most formats send nothing.
    func started(_ target: NotifyTarget) -> [NotificationRequest]
    /// What to send when a run has ended, or nil when this target does not want this ending.
    func finished(_ ending: RunEnding, target: NotifyTarget) -> NotificationRequest?
}

extension NotificationFormat {
    func started(_ target: NotifyTarget) -> [NotificationRequest] { [] }
}

/// Every format by its fleet-file name.
enum NotificationFormats {
    static func format(_ format: NotifyTarget.Format) -> any NotificationFormat {
        switch format {
        case .json: JSONNotification()
        case .slack: SlackNotification()
        case .healthchecks: HealthchecksNotification()
        }
    }
}

/// One POST to a webhook: where, what, and which event it tells.
struct NotificationRequest: Sendable {
    var url: String
    var body: Data?
    var event: String
}

/// How a run ended, as notifications see it.
struct RunEnding: Sendable {
    var report: RunReport
    var savedAt: String?
    var failed: Bool
    /// Succeeded after the previous run of the same command failed.
    var recovered: Bool

    /// The trigger this ending fires on a target (`on: [failure, recovery, success, always]`), if any.
    func trigger(for target: NotifyTarget) -> NotifyTarget.Trigger? {
        if failed { return target.on.contains(.failure) || target.on.contains(.always) ? .failure : nil }
        if recovered && (target.on.contains(.recovery) || target.on.contains(.always)) { return .recovery }
        return target.on.contains(.success) || target.on.contains(.always) ? .success : nil
    }
}

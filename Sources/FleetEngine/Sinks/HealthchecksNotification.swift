import FleetModel
import Foundation

/// `format: healthchecks`: healthchecks.io-style pings on every run, whatever `on:` says: `<url>/start`
/// when it starts, then `<url>` (with the json payload) or `<url>/fail`.
struct HealthchecksNotification: NotificationFormat {
    func started(_ target: NotifyTarget) -> [NotificationRequest] {
        [NotificationRequest(url: target.url + "/start", body: nil, event: "start")]
    }

    func finished(_ ending: RunEnding, target: NotifyTarget) -> NotificationRequest? {
        let event = ending.failed ? "failure" : "success"
        return NotificationRequest(url: target.url + (ending.failed ? "/fail" : ""),
                                   body: JSONNotification.payload(ending.report, savedAt: ending.savedAt, event: event), event: event)
    }
}

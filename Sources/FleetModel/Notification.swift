/// Where a run's outcome is sent (`notify:`): a webhook in one of three formats.
public struct NotifyTarget: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        /// A documented JSON payload.
        case json
        /// A readable Slack message (`{"text": …}`).
        case slack
        /// healthchecks.io-style pings: `<url>/start`, `<url>`, `<url>/fail`.
        case healthchecks
    }

    /// When a message goes out.
    public enum Trigger: String, Sendable, CaseIterable {
        /// The run failed (exit code not 0).
        case failure
        /// The run succeeded after the previous run of the same command failed.
        case recovery
        /// The run succeeded.
        case success
        /// Every run.
        case always
    }

    /// The URL, `${NAME}` already filled in: it may hold a secret and is never shown whole.
    public var url: String
    public var format: Format
    public var on: Set<Trigger>
    /// Commands that notify; every command that touches venues when nil.
    public var commands: [String]?

    public init(url: String, format: Format = .json, on: Set<Trigger> = [.failure, .recovery], commands: [String]? = nil) {
        self.url = url
        self.format = format
        self.on = on
        self.commands = commands
    }

    /// `https://hooks.slack.com/…`: scheme and host only, for reports and logs.
    public var shownURL: String {
        guard let scheme = url.range(of: "://") else { return "(webhook)" }
        let rest = url[scheme.upperBound...]
        let host = rest.prefix { $0 != "/" && $0 != "?" }.split(separator: "@").last.map(String.init) ?? ""
        return String(url[..<scheme.upperBound]) + host + "/…"
    }
}

import Logging

/// What the run hands down to the work on each venue.
public enum RunContext {
    /// The logger of the venue being worked on (metadata `venue`, `run`, `command`).
    @TaskLocal public static var logger: Logger = silent

    /// A logger that drops everything, where nobody is listening.
    public static let silent = Logger(label: "gwi-fleet", factory: { _ in SwiftLogNoOpLogHandler() })
}

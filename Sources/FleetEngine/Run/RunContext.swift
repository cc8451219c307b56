import Logging
import Synchronization

/// What the run hands down to the work on each venue.
public enum RunContext {
    /// The logger of the venue being worked on (metadata `venue`, `run`, `command`).
    @TaskLocal public static var logger: Logger = silent

    /// The deadline the venue's work runs under, so a step that is cancelled can tell a timeout
    /// (recorded as such) from an interruption.
    @TaskLocal public static var deadline: DeadlineState?

    /// "timed out after 30m" when the venue's deadline passed, "interrupted" otherwise.
    static var cancellationReason: String {
        if let deadline, deadline.expired { return FleetEngineError.timedOut(deadline.limit).description }
        return FleetEngineError.interrupted.description
    }

    /// A logger that drops everything, where nobody is listening.
    public static let silent = Logger(label: "gwi-fleet", factory: { _ in SwiftLogNoOpLogHandler() })
}

/// One venue's deadline: its limit, and whether it has passed.
public final class DeadlineState: Sendable {
    public let limit: Duration
    private let passed = Mutex(false)

    init(limit: Duration) { self.limit = limit }

    public var expired: Bool { passed.withLock { $0 } }
    func expire() { passed.withLock { $0 = true } }
}

/// Why work on a venue failed, as an operator reads it: the step it failed in, what happened,
/// and what to do next. Made where the failure is found; the runner redacts it once and the report
/// and the terminal render it the same way: `step: cause; hint`.
public struct VenueError: Error, Sendable, Equatable, Codable, CustomStringConvertible, ExpressibleByStringInterpolation {
    /// `count rows`, `restore`, `offsite copy`; nil when the cause says it all.
    public var step: String?
    public var cause: String
    /// What to do next (`pass --yes …`, `run gwi-fleet backup`); nil when there is nothing to do.
    public var hint: String?

    public init(step: String? = nil, _ cause: String, hint: String? = nil) {
        self.step = step
        self.cause = cause
        self.hint = hint
    }

    public init(stringLiteral value: String) { self.init(value) }
    public init(stringInterpolation: DefaultStringInterpolation) { self.init(String(stringInterpolation: stringInterpolation)) }

    public var description: String { (step.map { "\($0): " } ?? "") + cause + (hint.map { "; \($0)" } ?? "") }

    /// Any error thrown by a venue's work, with its step and hint where it has them.
    public init(_ error: any Error) {
        switch error {
        case let error as VenueError: self = error
        case let error as FleetEngineError: self = error.venueError
        case is CancellationError: self = FleetEngineError.interrupted.venueError
        default: self.init(String(describing: error))
        }
    }

    /// The same error with `text` added to what happened (`the safety backup is …`).
    public func adding(_ text: String) -> VenueError {
        var copy = self
        copy.cause += "; " + text
        return copy
    }

    func redacted(by redactor: SecretRedactor) -> VenueError {
        VenueError(step: step.map(redactor.redact), redactor.redact(cause), hint: hint.map(redactor.redact))
    }
}

/// A venue that failed but still has figures worth reporting (an exec's log and exit code).
public struct VenueFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var figures: VenueFigures
    public var description: String { message }
}

/// An error's text, carried out of a task.
struct FleetEngineErrorText: Error, Sendable {
    let text: String
    init(_ text: String) { self.text = text }
}

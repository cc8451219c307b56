/// A venue that failed but still has a result worth reporting (an exec's log and exit code).
public struct VenueFailure: Error, Sendable, CustomStringConvertible {
    public var error: VenueError
    public var result: any VenueResult
    public var description: String { error.description }

    public init(_ error: VenueError, result: any VenueResult) {
        self.error = error
        self.result = result
    }
}

/// An error's text, carried out of a task.
struct FleetEngineErrorText: Error, Sendable {
    let text: String
    init(_ text: String) { self.text = text }
}

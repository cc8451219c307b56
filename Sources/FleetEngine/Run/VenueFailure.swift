/// A venue that failed but still has a result worth reporting (an exec's log and exit code).
public struct VenueFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var result: any VenueResult
    public var description: String { message }

    public init(message: String, result: any VenueResult) {
        self.message = message
        self.result = result
    }
}

/// An error's text, carried out of a task.
struct FleetEngineErrorText: Error, Sendable {
    let text: String
    init(_ text: String) { self.text = text }
}

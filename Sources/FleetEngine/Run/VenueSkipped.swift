
/// Thrown by an operation that decides a venue is to be reported `skipped`, with the reason.
public struct VenueSkipped: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// One notification the run sent (or could not), as the report records it.
public struct NotificationDelivery: Sendable, Equatable, Codable {
    public var to: String
    public var format: String
    public var event: String
    public var delivered: Bool
    public var error: String?
}

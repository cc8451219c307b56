import Foundation

/// The last backup attempt on a venue (`.last-attempt.json`), so `prune` can refuse to delete
/// anything while the newest attempt failed.
public struct AttemptRecord: Codable, Sendable, Equatable {
    public var status: VenueStatus
    public var at: Date
    public var error: String?
}

import Foundation

/// The last backup attempt on a venue (`.last-attempt.json`), so `prune` can refuse to delete
/// anything while the newest attempt failed.
public struct AttemptRecord: Codable, Sendable, Equatable {
    public var status: VenueStatus
    public var at: Date
    public var error: String?
    /// The off-site copy of the backup this attempt made: `verified` or `failed` (nil: no remote).
    public var offsite: String?
    /// When a backup of this venue was last verified off-site (kept across attempts).
    public var offsiteVerifiedAt: Date?

    public init(status: VenueStatus, at: Date, error: String?, offsite: String? = nil, offsiteVerifiedAt: Date? = nil) {
        self.status = status
        self.at = at
        self.error = error
        self.offsite = offsite
        self.offsiteVerifiedAt = offsiteVerifiedAt
    }

    enum CodingKeys: String, CodingKey {
        case status, at, error, offsite, offsiteVerifiedAt = "offsite_verified_at"
    }
}

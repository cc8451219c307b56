import Foundation

/// How many backups `prune` keeps.
public struct RetentionPolicy: Sendable, Equatable {
    public static let defaultKeepDays = 30
    public static let defaultKeepMin = 3

    /// Complete backups older than this many days may be deleted…
    public var keepDays: Int
    /// …but the newest this many complete backups are always kept.
    public var keepMin: Int

    public init(keepDays: Int = RetentionPolicy.defaultKeepDays, keepMin: Int = RetentionPolicy.defaultKeepMin) {
        self.keepDays = keepDays
        self.keepMin = keepMin
    }
}

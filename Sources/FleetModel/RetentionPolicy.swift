import Foundation

/// How many backups `prune` keeps.
public struct RetentionPolicy: Sendable, Equatable {
    public static let defaultKeepDays = 30
    public static let defaultKeepMin = 3

    /// Complete backups older than this many days may be deleted…
    public var keepDays: Int
    /// …but the newest this many complete backups are always kept.
    public var keepMin: Int
    /// restic's `forget` rules: the newest backup of each of the last N days, ISO weeks, months and
    /// years (UTC) that have backups; nil: the rule is not set.
    public var calendar: Calendar

    /// `keep_daily`, `keep_weekly`, `keep_monthly`, `keep_yearly`.
    public struct Calendar: Sendable, Equatable {
        public var daily: Int?
        public var weekly: Int?
        public var monthly: Int?
        public var yearly: Int?

        public init(daily: Int? = nil, weekly: Int? = nil, monthly: Int? = nil, yearly: Int? = nil) {
            (self.daily, self.weekly, self.monthly, self.yearly) = (daily, weekly, monthly, yearly)
        }

        /// Each field not set here taken from `base`.
        public func over(_ base: Calendar) -> Calendar {
            Calendar(daily: daily ?? base.daily, weekly: weekly ?? base.weekly, monthly: monthly ?? base.monthly, yearly: yearly ?? base.yearly)
        }
    }

    public init(keepDays: Int = RetentionPolicy.defaultKeepDays, keepMin: Int = RetentionPolicy.defaultKeepMin, calendar: Calendar = Calendar()) {
        self.keepDays = keepDays
        self.keepMin = keepMin
        self.calendar = calendar
    }
}

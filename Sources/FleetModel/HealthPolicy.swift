import Foundation

/// What "healthy" means (`policy:`): `status` judges every venue against it.
public struct HealthPolicy: Sendable, Equatable {
    /// A complete backup at least this recent.
    public var maxBackupAge: Duration
    /// A verified (restore-tested) backup at least this recent.
    public var maxVerifyAge: Duration
    /// The latest backup copied off-site (only where a remote is configured).
    public var requireOffsite: Bool
    /// With `pitr:`, WAL archived at least this recently (what a point-in-time restore can lose).
    public var maxArchiveLag: Duration
    /// A copy made by `restore --as` that is older than this is a problem of `check`, `backup`
    /// and `sweep` (younger, it is listed apart from uncovered databases: someone is looking at it).
    public var maxRestoredCopyAge: Duration = .seconds(7 * 86_400)

    public init(maxBackupAge: Duration = .seconds(26 * 3600), maxVerifyAge: Duration = .seconds(8 * 86_400), requireOffsite: Bool = true,
                maxArchiveLag: Duration = .seconds(15 * 60)) {
        self.maxBackupAge = maxBackupAge
        self.maxVerifyAge = maxVerifyAge
        self.requireOffsite = requireOffsite
        self.maxArchiveLag = maxArchiveLag
    }
}

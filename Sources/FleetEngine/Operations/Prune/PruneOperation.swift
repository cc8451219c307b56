import FleetModel
import Foundation

/// `gwi-fleet prune`: the venue's `Retention` applied under its lock.
public struct PruneOperation: Sendable {
    public var retention: Retention

    public init(dryRun: Bool = false, now: @escaping @Sendable () -> Date = { WallClock.now() }, remoteEnvironment: [String: String?] = [:]) {
        retention = Retention(dryRun: dryRun, now: now, remoteEnvironment: remoteEnvironment)
    }

    public func run(_ venue: Venue) async throws -> PruneResult {
        let directory = BackupCatalog.directory(of: venue)
        guard FileManager.default.fileExists(atPath: directory) else {
            return PruneResult(dryRun: retention.dryRun, deleted: [], kept: [])
        }
        let lock = try await VenueLock.acquire(directory: directory)
        defer { withExtendedLifetime(lock) {} }
        return try await retention.apply(to: venue)
    }
}

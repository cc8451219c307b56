import FleetModel
import Foundation

/// `gwi-fleet prune`: the venue's `Retention` applied under its lock.
public struct PruneOperation: Sendable {
    public var retention: Retention

    public init(dryRun: Bool = false, now: @escaping @Sendable () -> Date = { Date() }, remoteEnvironment: [String: String?] = [:]) {
        retention = Retention(dryRun: dryRun, now: now, remoteEnvironment: remoteEnvironment)
    }

    public func run(_ venue: Venue) async throws -> VenueFigures {
        let directory = BackupCatalog.directory(of: venue)
        guard FileManager.default.fileExists(atPath: directory) else {
            return VenueFigures([("deleted", .array([])), ("kept", .array([]))], summary: "no backups yet")
        }
        let lock = try await VenueLock.acquire(directory: directory)
        defer { withExtendedLifetime(lock) {} }
        return try await retention.apply(to: venue)
    }

    /// One line per file of a prune outcome: `airport: keep x.dump: one of the newest 3 complete backups`.
    public static func decisionLines(of outcome: VenueOutcome, dryRun: Bool) -> [String] {
        ["deleted", "kept"].flatMap { key -> [String] in
            guard case .array(let files)? = outcome.figures[key] else { return [] }
            let verb = key == "kept" ? "keep" : (dryRun ? "would delete" : "deleted")
            return files.map { file in
                let name = URL(fileURLWithPath: file["file"]?.stringValue ?? "").lastPathComponent
                return "\(outcome.slug): \(verb) \(name): \(file["reason"]?.stringValue ?? "")"
            }
        }
    }
}

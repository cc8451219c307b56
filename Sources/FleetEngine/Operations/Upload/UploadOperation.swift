import FleetModel
import Foundation

/// `gwi-fleet upload`: every complete local backup whose remote copy is missing or differs is
/// copied again, with the same checks as after a backup. Idempotent: a second run uploads nothing.
public struct UploadOperation: Sendable {
    public var remoteEnvironment: [String: String?]

    public init(remoteEnvironment: [String: String?] = [:]) {
        self.remoteEnvironment = remoteEnvironment
    }

    public func run(_ venue: Venue) async throws -> UploadResult {
        guard let policy = venue.backup.remote else { throw VenueSkipped(reason: "no backup.remote for this venue") }
        let directory = BackupCatalog.directory(of: venue)
        guard FileManager.default.fileExists(atPath: directory) else { return UploadResult(uploaded: [], alreadyOffsite: 0) }
        let lock = try await VenueLock.acquire(directory: directory)
        defer { withExtendedLifetime(lock) {} }
        let copy = OffsiteCopy(policy: policy, environment: remoteEnvironment)
        let listing = try await copy.remote.list(venue.slug)
        let local = BackupCatalog(venue: venue).entries().filter(\.isComplete).compactMap(\.manifest)
        var uploaded: [String] = [], failures: [String] = []
        for manifest in local.reversed() where !copy.holds(manifest, in: listing) {
            do {
                try await copy.copy(manifest, from: directory, slug: venue.slug)
                uploaded.append(manifest.file)
            } catch {
                failures.append("\(manifest.file): \(FleetRunner.describe(error))")
            }
        }
        let result = UploadResult(uploaded: uploaded, alreadyOffsite: local.count - uploaded.count - failures.count)
        if !failures.isEmpty { throw VenueFailure(VenueError(step: "upload", failures.joined(separator: "; "), hint: "run gwi-fleet upload again"), result: result) }
        if !local.isEmpty { BackupCatalog.noteOffsite(venue, verified: true) }
        return result
    }
}

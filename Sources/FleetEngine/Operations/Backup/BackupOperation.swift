import FleetModel
import Foundation
import Logging
import PostgresClient

/// `gwi-fleet backup` on one venue: row counts and pg_dump from one exported snapshot, the dump
/// streamed through SHA-256 to a temporary file, fsynced and renamed, then the manifest, last.
public struct BackupOperation: Sendable {
    public var tools: PgTools
    public var connector: VenueConnector
    /// Replaces each venue's `backup.format` when set (`--format`).
    public var formatOverride: BackupFormat?
    /// `backup --prune`: apply the retention policy right after each successful backup.
    public var prune: Bool
    /// Changes to the rclone children's environment (tests unset `AWS_CA_BUNDLE`).
    public var remoteEnvironment: [String: String?] = [:]

    /// The dump step alone, as this operation takes it.
    public var dumper: VenueDumper { VenueDumper(tools: tools, connector: connector, formatOverride: formatOverride) }

    public init(tools: PgTools, connector: VenueConnector = VenueConnector(), formatOverride: BackupFormat? = nil,
                prune: Bool = false) {
        self.tools = tools
        self.connector = connector
        self.formatOverride = formatOverride
        self.prune = prune
    }

    public func run(_ venue: Venue) async throws -> BackupResult {
        let lock = try await VenueLock.acquire(directory: try BackupCatalog.prepareDirectory(of: venue))
        defer { withExtendedLifetime(lock) {} }
        let directory = BackupCatalog.directory(of: venue)
        let manifest = try await dumper.backup(venue, lockHeld: true)
        var result = BackupResult(manifest, directory: directory)
        if let remote = venue.backup.remote {
            // The local backup is complete and counted whatever happens to its off-site copy.
            do {
                let path = try await OffsiteCopy(policy: remote, environment: remoteEnvironment).copy(manifest, from: directory, slug: venue.slug)
                result.offsite = .verified(path)
                BackupCatalog.noteOffsite(venue, verified: true)
            } catch {
                BackupCatalog.noteOffsite(venue, verified: false)
                let reason = Task.isCancelled ? RunContext.cancellationReason : FleetRunner.describe(error)
                result.offsite = .failed(reason)
                throw VenueFailure(VenueError("offsite copy failed: \(reason); the local backup \(manifest.file) is complete and counted", hint: "gwi-fleet upload sends it later"),
                                   result: result)
            }
        }
        if prune {
            result.pruned = try await Retention(remoteEnvironment: remoteEnvironment).apply(to: venue)
        }
        return result
    }
}

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

    public func run(_ venue: Venue) async throws -> VenueFigures {
        let lock = try await VenueLock.acquire(directory: try BackupCatalog.prepareDirectory(of: venue))
        defer { withExtendedLifetime(lock) {} }
        let directory = BackupCatalog.directory(of: venue)
        let manifest = try await dumper.backup(venue, lockHeld: true)
        var figures = Self.figures(of: manifest, directory: directory)
        if let remote = venue.backup.remote {
            // The local backup is complete and counted whatever happens to its off-site copy.
            do {
                let path = try await OffsiteCopy(policy: remote, environment: remoteEnvironment).copy(manifest, from: directory, slug: venue.slug)
                figures.fields.append(("offsite", .object([("status", .string("verified")), ("path", .string(path))])))
                figures.summary += "; offsite verified"
                BackupCatalog.noteOffsite(venue, verified: true)
            } catch {
                BackupCatalog.noteOffsite(venue, verified: false)
                let reason = Task.isCancelled ? RunContext.cancellationReason : FleetRunner.describe(error)
                figures.fields.append(("offsite", .object([("status", .string("failed")), ("error", .string(reason))])))
                throw VenueFailure(message: "offsite copy failed: \(reason); the local backup \(manifest.file) is complete and counted (gwi-fleet upload sends it later)",
                                   figures: figures)
            }
        }
        if prune {
            let pruned = try await Retention(remoteEnvironment: remoteEnvironment).apply(to: venue)
            figures.fields += pruned.fields.filter { $0.0 != "dry_run" }.map { ("pruned_" + $0.0, $0.1) }
            figures.summary += "; pruned: \(pruned.summary)"
        }
        return figures
    }

    static func figures(of manifest: BackupManifest, directory: String) -> VenueFigures {
        let rows = manifest.rowCounts.values.reduce(0, +)
        let counts = manifest.rowCounts.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int($0.value)) }
        return VenueFigures([
            ("file", .string(directory + "/" + manifest.file)),
            ("manifest", .string(BackupManifest.path(forDump: directory + "/" + manifest.file))),
            ("format", .string(manifest.format.rawValue)),
            ("compression", manifest.compression.map(JSONValue.string) ?? .null),
            ("encrypted", .bool(manifest.encryption != nil)),
            ("bytes", .int(manifest.bytes)),
            ("sha256", .string(manifest.sha256)),
            ("dump_sha256", manifest.dumpSHA256.map(JSONValue.string) ?? .null),
            ("server_version", .string(manifest.serverVersion)),
            ("row_counts", .object(counts)),
        ], summary: "\(ByteCount.human(manifest.bytes)) \(manifest.format.rawValue)"
            + (manifest.compression.map { $0 == "none" ? "" : " \($0)" } ?? "") + (manifest.encryption == nil ? "" : " age")
            + ", \(manifest.rowCounts.count) tables, \(rows) rows")
    }
}

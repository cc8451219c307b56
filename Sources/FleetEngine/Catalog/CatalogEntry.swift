import FleetModel
import Foundation

/// What a backup on disk is worth.
public enum BackupState: String, Sendable, Codable {
    /// Dump and manifest agree on size; never restore-tested (or not since it last changed).
    case complete
    /// Restored into a scratch database and every table matched the manifest.
    case verified
    /// Checksum or size differs from the manifest, or its restore did not match.
    case corrupt
    /// No manifest, a manifest that does not parse, a missing dump, or a leftover temporary file.
    case incomplete
}

/// One backup (or leftover) in a venue's directory.
public struct CatalogEntry: Sendable {
    /// The dump file, or the temporary file / manifest when that is all there is.
    public var path: String
    public var manifestPath: String?
    public var manifest: BackupManifest?
    public var verification: VerificationRecord?
    public var state: BackupState
    /// Why the state is corrupt or incomplete.
    public var reason: String?
    /// When the backup started (from the manifest), else the file's modification time.
    public var date: Date
    public var bytes: Int
    /// Dated more than five minutes ahead of the catalog's clock: never latest, never counted for
    /// `keep_min`, never deleted, and reported.
    public var inTheFuture = false

    public var isComplete: Bool { state == .complete || state == .verified }
    /// Complete, not from the future, not a safety backup: what "latest" may mean.
    public var isRestorePoint: Bool { Self.isRestorePoint(complete: isComplete, purpose: manifest?.effectivePurpose, inTheFuture: inTheFuture) }

    /// The one rule for a restore point, wherever a backup is described: complete (or verified),
    /// not dated in the future, and not a safety backup (the state a restore threw away).
    public static func isRestorePoint(complete: Bool, purpose: BackupPurpose?, inTheFuture: Bool) -> Bool {
        complete && !inTheFuture && purpose != .safety && purpose != .pitr
    }
    /// How far ahead of now a backup's time may be before it is suspect.
    public static let clockTolerance: TimeInterval = 300
    /// The last path component (no file system lookup: called for every backup of a fleet).
    public var fileName: String { path.split(separator: "/").last.map(String.init) ?? path }
}

extension Array where Element == CatalogEntry {
    /// The newest restore point of a catalog listed newest first (as `BackupCatalog.entries` lists it):
    /// what "latest" means for verify, restore, counts, status, sweep and upload, locally and on a remote.
    public var latestRestorePoint: CatalogEntry? { first(where: \.isRestorePoint) }
}

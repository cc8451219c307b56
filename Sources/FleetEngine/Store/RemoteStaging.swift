import FleetModel
import Foundation

/// Brings backups from a venue's remote into a private temporary directory (0700, removed when
/// the staging goes away), so verify and restore run on them exactly as on local ones, with no
/// local state needed: the disaster drill after the ops machine is gone.
public struct RemoteStaging: Sendable {
    /// Which of the remote's backups to bring.
    public enum Choice: Sendable, Equatable {
        case latest
        case all
        case named(String)
    }

    let directory: PrivateDirectory
    public let catalog: BackupCatalog
    let remote: RcloneRemote
    let slug: String

    /// Downloads the chosen backups (dump, manifest, verification record) of `venue`.
    public static func stage(_ venue: Venue, choice: Choice, environment: [String: String?] = [:]) async throws -> RemoteStaging {
        guard let policy = venue.backup.remote else {
            throw FleetEngineError.refused(VenueError(step: "--from remote", "\(venue.slug) has no backup.remote", hint: "set backup.remote for it, or use --from local"))
        }
        let remote = RcloneRemote(url: policy.url, environment: environment)
        let snapshot = try await RemoteSnapshot.load(remote, slug: venue.slug)
        let entries = BackupCatalog(store: snapshot, slug: venue.slug).entries()
        let chosen: [CatalogEntry]
        switch choice {
        case .latest: chosen = entries.latestRestorePoint.map { [$0] } ?? []
        case .all: chosen = entries.filter { $0.manifest != nil }
        case .named(let name): chosen = entries.filter { $0.fileName == URL(fileURLWithPath: name).lastPathComponent && $0.manifest != nil }
        }
        guard !chosen.isEmpty else {
            throw FleetEngineError.backupNotFound("no complete backup of \(venue.slug) on \(remote.path(venue.slug))")
        }
        let directory = try PrivateDirectory()
        let store = LocalDirectoryStore(root: directory.path)
        try store.prepare(venue.slug)
        for entry in chosen {
            let name = entry.fileName
            try await remote.download(venue.slug, name, to: store.localPath(venue.slug, name))
            for small in [BackupManifest.name(forDump: name), (BackupCatalog.dumpStem(name) ?? name) + ".verify.json"] {
                if let data = try snapshot.read(venue.slug, small) { try store.write(data, venue.slug, small) }
            }
        }
        return RemoteStaging(directory: directory, catalog: BackupCatalog(store: store, slug: venue.slug), remote: remote, slug: venue.slug)
    }

    /// Sends the verification records written here back to the remote, beside their backups.
    func uploadRecords() async throws {
        for file in try catalog.store.list(slug) where file.name.hasSuffix(".verify.json") {
            try await remote.upload(catalog.store.localPath(slug, file.name), slug, file.name)
        }
    }
}

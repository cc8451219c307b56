import FleetModel
import Foundation

/// Which store `verify` and `restore` read a venue's backups from (`--from`).
public enum BackupSource: String, Sendable, CaseIterable {
    /// The venue's backup directory.
    case local
    /// The venue's `backup.remote`, with no local state needed: the disaster drill after the ops machine is gone.
    case remote

    /// The venue's store of this kind. `environment`: changes to the rclone children's environment.
    public func store(for venue: Venue, environment: [String: String?] = [:]) throws -> any BackupStore {
        switch self {
        case .local:
            return LocalDirectoryStore(root: venue.backup.directory)
        case .remote:
            guard let policy = venue.backup.remote else {
                throw FleetEngineError.refused(VenueError(step: "--from remote", "\(venue.slug) has no backup.remote", hint: "set backup.remote for it, or use --from local"))
            }
            return RcloneRemote(url: policy.url, environment: environment)
        }
    }
}

/// A venue's backups where the restore tools can read them: a local store's files where they
/// are; a remote's chosen backups (dump, manifest, verification record) copied into a private
/// temporary directory (0700, removed when this goes away), so verify and restore run on them
/// exactly as on local ones.
public struct StagedBackups: Sendable {
    /// Which of the store's backups to bring.
    public enum Choice: Sendable, Equatable {
        case latest
        case all
        case named(String)
    }

    let directory: PrivateDirectory?
    /// The catalog of the backups as they can be read here.
    public let catalog: BackupCatalog
    let source: any BackupStore
    let slug: String
    /// Every backup of the store as its listing shows it (a remote's, not only those staged), newest first.
    public var storeEntries: [CatalogEntry] { remoteEntries ?? catalog.entries() }
    private var remoteEntries: [CatalogEntry]? = nil
    /// The files are read where they are (a local store): a backup may be named by its path.
    public var isInPlace: Bool { directory == nil }

    /// Where a staged backup lives in its store, for reports (not the staging copy, which goes away).
    public func storePath(of entry: CatalogEntry) -> String { isInPlace ? entry.path : source.path(slug, entry.fileName) }

    /// Stages the chosen backups of `venue` from `source`.
    public static func stage(_ venue: Venue, from source: any BackupStore, choice: Choice) async throws -> StagedBackups {
        if source.localPath(venue.slug, "x") != nil {
            return StagedBackups(directory: nil, catalog: BackupCatalog(venue: venue), source: source, slug: venue.slug)
        }
        let remote = BackupCatalog(files: try await CatalogSnapshot.load(source, slug: venue.slug), slug: venue.slug, database: venue.database)
        let entries = remote.entries()
        let chosen: [CatalogEntry]
        switch choice {
        case .latest: chosen = entries.latestRestorePoint.map { [$0] } ?? []
        case .all: chosen = entries.filter { $0.manifest != nil }
        case .named(let name): chosen = entries.filter { $0.fileName == URL(fileURLWithPath: name).lastPathComponent && $0.manifest != nil }
        }
        if case .named(let name) = choice, chosen.isEmpty {
            // Say what is wrong with the backup asked for, not that there is none at all.
            let file = URL(fileURLWithPath: name).lastPathComponent
            guard let entry = entries.first(where: { $0.fileName == file }) else {
                throw FleetEngineError.backupNotFound(VenueError("\(file) is not a backup on \(source.location)/\(venue.slug)"))
            }
            throw FleetEngineError.refused("\(source.path(venue.slug, file)) is \(entry.state.rawValue) (\(entry.reason ?? "no manifest")): nothing was touched")
        }
        guard !chosen.isEmpty else {
            throw FleetEngineError.backupNotFound(VenueError("no complete backup of \(venue.slug) on \(source.location)/\(venue.slug)"))
        }
        let directory = try PrivateDirectory()
        let local = LocalDirectoryStore(root: directory.path)
        try local.prepare(venue.slug)
        for entry in chosen {
            let name = entry.fileName
            try await StoreCopy.copy(venue.slug, name, from: source, to: local)
            for small in [BackupManifest.name(forDump: name), (BackupCatalog.dumpStem(name) ?? name) + ".verify.json"] {
                if let data = try remote.files.readFile(venue.slug, small) { try await local.write(data, venue.slug, small) }
            }
        }
        var staged = StagedBackups(directory: directory, catalog: BackupCatalog(files: local, slug: venue.slug, database: venue.database), source: source, slug: venue.slug)
        staged.remoteEntries = entries
        return staged
    }

    /// Sends the verification records written here back beside their backups (nothing to do for a local store).
    func returnRecords() async throws {
        guard directory != nil else { return }
        for file in try catalog.files.listFiles(slug) where file.name.hasSuffix(".verify.json") {
            try await StoreCopy.copy(slug, file.name, from: LocalDirectoryStore(root: directory!.path), to: source)
        }
    }
}

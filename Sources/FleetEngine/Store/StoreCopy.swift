import Foundation

/// The one copy step between two stores: a local backup to its remote (`backup`, `upload`), a
/// remote backup into a private local directory (`verify` and `restore --from remote`).
enum StoreCopy {
    /// Copies `name` of `slug` from `source` to `target`, streaming: straight from or to a local
    /// file where either side has one, else through a private temporary file.
    static func copy(_ slug: String, _ name: String, from source: any BackupStore, to target: any BackupStore) async throws {
        if let local = source.localPath(slug, name) {
            try await target.upload(local, slug, name)
        } else if let local = target.localPath(slug, name) {
            try await source.download(slug, name, to: local)
        } else {
            let directory = try PrivateDirectory()
            let local = directory.path + "/" + name
            try await source.download(slug, name, to: local)
            try await target.upload(local, slug, name)
        }
    }
}

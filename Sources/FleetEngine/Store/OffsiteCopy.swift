import FleetModel
import Foundation

/// Copies one complete local backup to the venue's remote and proves the copy: the dump first,
/// then its size and hash checked on the remote (the backend's MD5 where it keeps one, else the
/// object read back and hashed), then the manifest, last: a remote backup counts only once its
/// manifest is there, exactly as locally.
struct OffsiteCopy: Sendable {
    let remote: any BackupStore

    init(policy: RemotePolicy, environment: [String: String?] = [:]) {
        remote = RcloneRemote(url: policy.url, environment: environment)
    }

    /// Copies `manifest`'s backup from the venue's local directory (`<root>/<slug>`); returns the
    /// remote path of the dump.
    @discardableResult
    func copy(_ manifest: BackupManifest, from directory: String, slug: String) async throws -> String {
        let local = LocalDirectoryStore(root: URL(fileURLWithPath: directory).deletingLastPathComponent().path)
        try await StoreCopy.copy(slug, manifest.file, from: local, to: remote)
        try await check(manifest, slug: slug)
        try await StoreCopy.copy(slug, BackupManifest.name(forDump: manifest.file), from: local, to: remote)
        return remote.path(slug, manifest.file)
    }

    /// The remote object is the file the manifest describes.
    func check(_ manifest: BackupManifest, slug: String) async throws {
        guard let object = try await remote.list(slug).first(where: { $0.name == manifest.file }) else {
            throw FleetEngineError.verificationFailed("offsite: \(remote.path(slug, manifest.file)) is not on the remote after the upload")
        }
        guard object.bytes == manifest.bytes else {
            throw FleetEngineError.verificationFailed("offsite: the remote copy has \(object.bytes) bytes, the manifest says \(manifest.bytes)")
        }
        if let md5 = object.md5, let expected = manifest.md5 {
            guard md5 == expected else {
                throw FleetEngineError.verificationFailed("offsite: the remote copy's MD5 \(md5.prefix(12))… differs from the manifest's \(expected.prefix(12))…")
            }
            return
        }
        // No hash from the backend (or an old manifest without MD5): read it back and hash it.
        let directory = try PrivateDirectory()
        let local = directory.path + "/check"
        try await remote.download(slug, manifest.file, to: local)
        let digest = try await DigestTap.file(local)
        guard digest.sha256 == manifest.sha256 else {
            throw FleetEngineError.verificationFailed("offsite: the remote copy read back has SHA-256 \(digest.sha256.prefix(12))…, the manifest says \(manifest.sha256.prefix(12))…")
        }
    }

    /// Whether the remote already holds this backup, complete and matching.
    func holds(_ manifest: BackupManifest, in listing: [StoredFile]) -> Bool {
        guard listing.contains(where: { $0.name == BackupManifest.name(forDump: manifest.file) }),
              let object = listing.first(where: { $0.name == manifest.file }), object.bytes == manifest.bytes else { return false }
        if let md5 = object.md5, let expected = manifest.md5 { return md5 == expected }
        return true
    }
}

/// A 0700 temporary directory of our own, removed with everything in it when this goes away.
final class PrivateDirectory: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-fleet-\(UUID().uuidString.prefix(12))").path
        guard mkdir(path, 0o700) == 0 else { throw FleetEngineError.file(path: path, operation: "create directory", errno: errno) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

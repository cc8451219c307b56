import Foundation

/// A read-only picture of one venue's files in any store, read once (the listing with sizes and
/// hashes, manifests, verification and attempt records), so the catalog's logic (states,
/// retention plans, the latest restore point) runs on a remote exactly as on a local directory.
struct CatalogSnapshot: CatalogFiles {
    let store: any BackupStore
    let files: [StoredFile]
    let contents: [String: Data]

    var location: String { store.location }

    static func load(_ store: any BackupStore, slug: String) async throws -> CatalogSnapshot {
        let files = try await store.list(slug)
        var contents: [String: Data] = [:]
        for file in files where file.name.hasSuffix(".manifest.json") || file.name.hasSuffix(".verify.json") || file.name == BackupCatalog.attemptName {
            contents[file.name] = try await store.read(slug, file.name)
        }
        return CatalogSnapshot(store: store, files: files, contents: contents)
    }

    func listFiles(_ slug: String) throws -> [StoredFile] { files }
    func readFile(_ slug: String, _ name: String) throws -> Data? { contents[name] }
    func writeFile(_ data: Data, _ slug: String, _ name: String) throws { throw Self.readOnly }
    func deleteFile(_ slug: String, _ name: String) throws { throw Self.readOnly }
    func filePath(_ slug: String, _ name: String) -> String { store.path(slug, name) }

    static let readOnly = FleetEngineError.refused("a catalog snapshot is read-only; change the store itself")
}

import FleetBasics
import Foundation

/// Backups in a directory of this machine: `<root>/<slug>/<name>`, directories 0700, files 0600,
/// every file written under a temporary name, fsynced and renamed.
public struct LocalDirectoryStore: BackupStore, CatalogFiles {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public var location: String { root }

    public func directory(_ slug: String) -> String { root + "/" + slug }

    /// Creates the venue's directory (and the root) with mode 0700; returns it.
    @discardableResult
    public func prepare(_ slug: String) throws -> String {
        try DurableFile.makePrivateDirectory(root)
        try DurableFile.makePrivateDirectory(directory(slug))
        return directory(slug)
    }

    public func path(_ slug: String, _ name: String) -> String { directory(slug) + "/" + name }
    public func localPath(_ slug: String, _ name: String) -> String? { path(slug, name) }
    func filePath(_ slug: String, _ name: String) -> String { path(slug, name) }

    // MARK: - BackupStore (the directory scans and fsyncs on the blocking executor)

    public func list(_ slug: String) async throws -> [StoredFile] {
        try await BlockingExecutor.shared.run { try listFiles(slug) }
    }

    public func read(_ slug: String, _ name: String) async throws -> Data? { try readFile(slug, name) }

    public func write(_ data: Data, _ slug: String, _ name: String) async throws {
        try await BlockingExecutor.shared.run { try writeFile(data, slug, name) }
    }

    public func delete(_ slug: String, _ name: String) async throws {
        try await BlockingExecutor.shared.run { try deleteFile(slug, name) }
    }

    public func download(_ slug: String, _ name: String, to localPath: String) async throws {
        try await Self.copyDurably(path(slug, name), to: localPath)
    }

    public func upload(_ localPath: String, _ slug: String, _ name: String) async throws {
        try prepare(slug)
        try await Self.copyDurably(localPath, to: path(slug, name))
    }

    /// Copies a file under a temporary name beside `target`, fsyncs and renames it.
    static func copyDurably(_ source: String, to target: String) async throws {
        let file = try DurableFile(finalPath: target)
        defer { file.abandon() }
        let descriptor = file.descriptor
        try await BlockingExecutor.shared.run {
            try DurableFile.readChunks(of: source) { try DurableFile.write($0, to: descriptor) }
        }
        try await file.commitOffThePool()
    }

    // MARK: - CatalogFiles (what the catalog reads and writes now, without waiting)

    func listFiles(_ slug: String) throws -> [StoredFile] {
        let directory = directory(slug)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            if !FileManager.default.fileExists(atPath: directory) { return [] }
            throw FleetEngineError.file(path: directory, operation: "list", errno: errno == 0 ? EIO : errno)
        }
        return names.map { name in
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            return StoredFile(name: name, bytes: (attributes?[.size] as? NSNumber)?.intValue ?? 0,
                              modified: attributes?[.modificationDate] as? Date ?? .distantPast)
        }
    }

    func readFile(_ slug: String, _ name: String) throws -> Data? {
        FileManager.default.contents(atPath: path(slug, name))
    }

    func writeFile(_ data: Data, _ slug: String, _ name: String) throws {
        try DurableFile.write(data, to: path(slug, name))
    }

    func deleteFile(_ slug: String, _ name: String) throws {
        let path = path(slug, name)
        guard unlink(path) == 0 || errno == ENOENT else { throw FleetEngineError.file(path: path, operation: "delete", errno: errno) }
        DurableFile.syncDirectory(of: path)
    }

    /// Starts a large file written as a stream (a dump); it appears under `name` only on commit.
    public func create(_ slug: String, _ name: String) throws -> DurableFile {
        try DurableFile(finalPath: path(slug, name))
    }
}

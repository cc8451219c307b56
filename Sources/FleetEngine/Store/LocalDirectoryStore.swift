import Foundation

/// Backups in a directory of this machine: `<root>/<slug>/<name>`, directories 0700, files 0600,
/// every file written under a temporary name, fsynced and renamed.
public struct LocalDirectoryStore: BackupStore {
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

    public func list(_ slug: String) throws -> [StoredFile] {
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

    public func read(_ slug: String, _ name: String) throws -> Data? {
        FileManager.default.contents(atPath: localPath(slug, name))
    }

    public func write(_ data: Data, _ slug: String, _ name: String) throws {
        try DurableFile.write(data, to: localPath(slug, name))
    }

    public func create(_ slug: String, _ name: String) throws -> DurableFile {
        try DurableFile(finalPath: localPath(slug, name))
    }

    public func delete(_ slug: String, _ name: String) throws {
        let path = localPath(slug, name)
        guard unlink(path) == 0 || errno == ENOENT else { throw FleetEngineError.file(path: path, operation: "delete", errno: errno) }
        DurableFile.syncDirectory(of: path)
    }

    public func localPath(_ slug: String, _ name: String) -> String { directory(slug) + "/" + name }
}

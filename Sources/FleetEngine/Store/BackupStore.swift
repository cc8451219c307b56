import Foundation

/// Where a fleet's backups live: each venue's files by name, on this machine or on a remote. A
/// new kind of store (S3 directly, Azure, …) is one type implementing this; the catalog reads any
/// store through a `CatalogSnapshot`, and `StoreCopy` moves files between any two.
public protocol BackupStore: Sendable {
    /// For messages: a directory or a remote URL.
    var location: String { get }
    /// How a file is named in messages and in the catalog: a path, or a remote path.
    func path(_ slug: String, _ name: String) -> String
    /// Where the file can be read on this machine without a copy; nil for a remote store.
    func localPath(_ slug: String, _ name: String) -> String?
    /// A venue's files with their sizes (and the MD5 the store keeps, where it keeps one); empty when none.
    func list(_ slug: String) async throws -> [StoredFile]
    /// A small file's contents (manifest, record); nil when there is none.
    func read(_ slug: String, _ name: String) async throws -> Data?
    /// Writes a small file so that it is never seen half-written under its name.
    func write(_ data: Data, _ slug: String, _ name: String) async throws
    /// Removes a file; removing one that is not there is not an error.
    func delete(_ slug: String, _ name: String) async throws
    /// Streams a stored file into a local file (it appears there only once complete).
    func download(_ slug: String, _ name: String, to localPath: String) async throws
    /// Streams a local file into the store under `name`.
    func upload(_ localPath: String, _ slug: String, _ name: String) async throws
}

/// One file of a venue in a store.
public struct StoredFile: Sendable, Equatable {
    public var name: String
    public var bytes: Int
    public var modified: Date
    /// The MD5 the store keeps for the file (S3 and others), when it offers one.
    public var md5: String?

    public init(name: String, bytes: Int, modified: Date, md5: String? = nil) {
        self.name = name
        self.bytes = bytes
        self.modified = modified
        self.md5 = md5
    }
}

/// What the catalog reads a venue's files through, without waiting: a local directory as it is
/// now, or a `CatalogSnapshot` of any store read once.
protocol CatalogFiles: Sendable {
    var location: String { get }
    func listFiles(_ slug: String) throws -> [StoredFile]
    func readFile(_ slug: String, _ name: String) throws -> Data?
    func writeFile(_ data: Data, _ slug: String, _ name: String) throws
    func deleteFile(_ slug: String, _ name: String) throws
    func filePath(_ slug: String, _ name: String) -> String
}

import Foundation

/// Where a fleet's backups live: each venue's files by name. The catalog, retention and every
/// command read and write backups only through this, so another place (a remote) is one more
/// implementation, not a change to every command.
public protocol BackupStore: Sendable {
    /// For messages: a directory or a remote URL.
    var location: String { get }
    /// A venue's files, hidden ones included (`.partial` leftovers, records).
    func list(_ slug: String) throws -> [StoredFile]
    /// A small file's contents (manifest, record); nil when there is none.
    func read(_ slug: String, _ name: String) throws -> Data?
    /// Writes a small file so that it is never seen half-written under its name.
    func write(_ data: Data, _ slug: String, _ name: String) throws
    /// Starts a large file written as a stream; it appears under `name` only on `commit()`.
    func create(_ slug: String, _ name: String) throws -> DurableFile
    /// Removes a file; removing one that is not there is not an error.
    func delete(_ slug: String, _ name: String) throws
    /// Where the file can be read on this machine (a remote store downloads first).
    func localPath(_ slug: String, _ name: String) -> String
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

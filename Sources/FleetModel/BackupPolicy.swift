import Foundation

/// How pg_dump writes a backup.
public enum BackupFormat: String, Sendable, CaseIterable, Codable {
    /// `pg_dump -Fc`: compressed, restored with pg_restore.
    case custom
    /// Plain SQL, restored with psql.
    case plain

    public var fileExtension: String { self == .custom ? "dump" : "sql" }
}

/// Where and how a venue's backups are written, and how long they are kept.
public struct BackupPolicy: Sendable, Equatable {
    /// Absolute directory; each venue writes below `<directory>/<slug>/`.
    public var directory: String
    public var format: BackupFormat
    public var retention: RetentionPolicy
    public var compression: BackupCompression
    /// Nil: stored unencrypted.
    public var encryption: BackupEncryption?
    /// Nil: no off-site copy.
    public var remote: RemotePolicy?

    public init(directory: String, format: BackupFormat = .custom, retention: RetentionPolicy = RetentionPolicy(),
                compression: BackupCompression = .default, encryption: BackupEncryption? = nil, remote: RemotePolicy? = nil) {
        self.remote = remote
        self.directory = directory
        self.format = format
        self.retention = retention
        self.compression = compression
        self.encryption = encryption
    }
}

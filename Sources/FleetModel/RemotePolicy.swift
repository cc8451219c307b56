import Foundation

/// An off-site copy of every backup: any rclone remote (S3, GCS, Azure, SFTP, B2, …).
/// Credentials stay in rclone's own config or its `RCLONE_CONFIG_*` environment.
public struct RemotePolicy: Sendable, Equatable {
    /// `offsite:gwi-pos-backups/fleet`: rclone's remote and path; each venue below `<url>/<slug>/`.
    public var url: String
    /// The remote's own retention; the local one when nil.
    public var retention: RetentionPolicy?

    public init(url: String, retention: RetentionPolicy? = nil) {
        self.url = url
        self.retention = retention
    }
}

import Foundation

/// Backups encrypted with age (https://age-encryption.org) for these recipients. Only `verify`
/// and `restore` need an identity, from a file or an environment variable.
public struct BackupEncryption: Sendable, Equatable {
    /// `age1…` public keys (or `ssh-ed25519 …` lines).
    public var recipients: [String]
    /// A file of recipients, one per line (`#` comments), absolute.
    public var recipientsFile: String?
    /// The identity (private key) file, absolute.
    public var identityFile: String?
    /// An environment variable holding the identity.
    public var identityEnv: String?

    public init(recipients: [String] = [], recipientsFile: String? = nil, identityFile: String? = nil, identityEnv: String? = nil) {
        self.recipients = recipients
        self.recipientsFile = recipientsFile
        self.identityFile = identityFile
        self.identityEnv = identityEnv
    }
}

import FleetModel
import Foundation

/// A backup's dump read once through the reverse chain (`[age -d] → [zstd -d] → SHA-256 →
/// [gzip -d]`) into a private temporary file (0600, made in a 0700 directory and unlinked at once), and its SHA-256 checked against the manifest's `dump_sha256` before anything reads it:
/// `restore` never feeds a database bytes that have not passed every check. The file holds what
/// pg_restore (a custom archive) or psql (plain SQL) reads.
///
/// The file is unlinked as soon as it is opened: it is read through `/proc/<our pid>/fd/<n>`, so
/// the plaintext of an encrypted backup never outlives this process, `kill -9` included.
final class CheckedDump: Sendable {
    let path: String
    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
        self.path = "/proc/\(getpid())/fd/\(descriptor)"
    }

    deinit { close(descriptor) }

    /// Decodes `file` as `manifest` describes it and checks pg_dump's output; throws
    /// `verificationFailed` on a mismatch (nothing was touched).
    static func decode(_ file: String, manifest: BackupManifest, encryption: BackupEncryption?) async throws -> CheckedDump {
        let directory = try PrivateDirectory()
        let path = directory.path + "/" + (manifest.format == .custom ? "dump" : "dump.sql")
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FleetEngineError.file(path: path, operation: "create", errno: errno) }
        unlink(path)  // from now on only our descriptor holds it
        var kept = false
        defer { if !kept { close(descriptor) } }
        let (toDump, afterDump, identity) = try BackupCodec.restoreStages(for: manifest, encryption: encryption)
        defer { withExtendedLifetime(identity) {} }
        let dumped = DigestTap()
        do {
            try await BytePipeline(.file(file), toDump + [.tap(dumped)] + afterDump, into: .descriptor(descriptor, name: path)).run()
        } catch FleetEngineError.toolFailed("age", let status, let message) where message.contains("no identity matched") {
            throw FleetEngineError.refused("age \(status): the configured identity does not match this backup's recipients (\(message)): nothing was touched")
        }
        if let expected = manifest.dumpSHA256, dumped.sha256 != expected {
            throw FleetEngineError.verificationFailed("\(manifest.file): pg_dump's output after decryption and decompression has SHA-256 \(dumped.sha256.prefix(12))…, the manifest's dump_sha256 says \(expected.prefix(12))…: nothing was touched")
        }
        withExtendedLifetime(directory) {}
        kept = true
        return CheckedDump(descriptor: descriptor)
    }
}

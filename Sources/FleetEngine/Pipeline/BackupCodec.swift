import Crypto
import FleetModel
import Foundation

/// How a backup's bytes are stored: the stages between pg_dump and the file (compression, then
/// encryption), their reverse for a restore, and the file name that says which were used.
struct BackupCodec: Sendable {
    var format: BackupFormat
    var compression: BackupCompression
    var encryption: BackupEncryption?
    var environment: [String: String]

    init(policy: BackupPolicy, format: BackupFormat, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.format = format
        self.compression = policy.compression
        self.encryption = policy.encryption
        self.environment = environment
    }

    /// pg_dump's own compression option: zlib for `gzip`, none when zstd does the work.
    var pgDumpArguments: [String] {
        switch (format, compression) {
        case (.custom, .gzip(let level)): ["-Z", String(level)]
        case (.custom, _): ["-Z", "0"]
        case (.plain, .gzip(let level)): ["-Z", String(level)]
        case (.plain, _): []
        }
    }

    /// `.dump`, `.dump.zst`, `.sql.gz`, `.dump.zst.age` …
    var fileExtension: String {
        var name = format.fileExtension
        switch (format, compression) {
        case (_, .zstd): name += ".zst"
        case (.plain, .gzip): name += ".gz"
        default: break
        }
        return encryption == nil ? name : name + ".age"
    }

    /// The stages after pg_dump: zstd, then age.
    func storeStages() throws -> [BytePipeline.Stage] {
        var stages: [BytePipeline.Stage] = []
        if case .zstd(let level) = compression {
            stages.append(.process(ChildProcess(try Self.tool("zstd", package: "zstd"), ["-q", "-c", "-\(level)"])))
        }
        if let encryption {
            var arguments = ["-e"]
            for recipient in encryption.recipients { arguments += ["-r", recipient] }
            if let file = encryption.recipientsFile { arguments += ["-R", file] }
            stages.append(.process(ChildProcess(try Self.tool("age", package: "age"), arguments)))
        }
        return stages
    }

    /// The manifest's account of it: compression, and who can decrypt (fingerprints, never a key).
    var manifestCompression: String { compression.description }

    func manifestEncryption() -> BackupManifest.Encryption? {
        guard let encryption else { return nil }
        var recipients = encryption.recipients
        if let file = encryption.recipientsFile, let text = try? String(contentsOfFile: file, encoding: .utf8) {
            recipients += text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        return BackupManifest.Encryption(tool: "age", recipients: recipients.map(Self.fingerprint))
    }

    /// `sha256:` and the first 16 hex digits of a recipient's SHA-256: names it without repeating it.
    static func fingerprint(_ recipient: String) -> String {
        "sha256:" + Digester.hex(SHA256.hash(data: Data(recipient.utf8))).prefix(16)
    }

    /// The stages that turn a stored file back into pg_dump's output (where `dump_sha256` is
    /// checked), those that then make it readable by psql (a gzipped plain dump is pg_dump's own
    /// compression), and the identity file (written from an environment variable) to keep until
    /// they end.
    static func restoreStages(for manifest: BackupManifest, encryption: BackupEncryption?,
                              environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> (toDump: [BytePipeline.Stage], afterDump: [BytePipeline.Stage], identity: IdentityFile?) {
        var stages: [BytePipeline.Stage] = []
        var identity: IdentityFile?
        if manifest.encryption != nil {
            guard let encryption, encryption.identityFile != nil || encryption.identityEnv != nil else {
                throw FleetEngineError.refused("\(manifest.file) is encrypted with age and no identity is configured (backup.encrypt.identity_file or identity_env): nothing was touched")
            }
            let path: String
            if let file = encryption.identityFile {
                path = file
            } else {
                guard let name = encryption.identityEnv, let key = environment[name] else {
                    throw FleetEngineError.refused("\(manifest.file) is encrypted and \(encryption.identityEnv ?? "the identity variable") is not set: nothing was touched")
                }
                identity = try IdentityFile(key)
                path = identity!.path
            }
            stages.append(.process(ChildProcess(try tool("age", package: "age"), ["-d", "-i", path])))
        }
        if manifest.compression?.hasPrefix("zstd") == true {
            stages.append(.process(ChildProcess(try tool("zstd", package: "zstd"), ["-q", "-d", "-c"])))
        }
        var after: [BytePipeline.Stage] = []
        if manifest.compression?.hasPrefix("gzip") == true && manifest.format == .plain {
            after.append(.process(ChildProcess(try tool("gzip", package: "gzip"), ["-d", "-c"])))
        }
        return (stages, after, identity)
    }

    static func tool(_ name: String, package: String) throws -> String {
        do { return try PgTools.findOnPath(name, environment: ProcessInfo.processInfo.environment) } catch {
            throw FleetEngineError.refused(VenueError("\(name) not found on PATH", hint: "install the Debian package `\(package)` (scripts/install-deps)"))
        }
    }
}

/// An age identity from an environment variable, in a 0600 file of its own for `age -i`,
/// removed when this goes away.
final class IdentityFile: Sendable {
    let path: String
    private let directory: String

    init(_ key: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-fleet-identity-\(UUID().uuidString)").path
        guard mkdir(directory, 0o700) == 0 else { throw FleetEngineError.file(path: directory, operation: "create directory", errno: errno) }
        path = directory + "/identity.txt"
        do { try DurableFile.write(Data((key.hasSuffix("\n") ? key : key + "\n").utf8), to: path) } catch {
            rmdir(directory)
            throw error
        }
    }

    deinit {
        unlink(path)
        rmdir(directory)
    }
}

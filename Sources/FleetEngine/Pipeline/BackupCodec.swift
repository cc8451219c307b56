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
    /// compression), and the identity (from an environment variable, in memory only) to keep
    /// until they end.
    static func restoreStages(for manifest: BackupManifest, encryption: BackupEncryption?,
                              environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> (toDump: [BytePipeline.Stage], afterDump: [BytePipeline.Stage], identity: IdentityFile?) {
        IdentityFile.removeLeftovers()
        var stages: [BytePipeline.Stage] = []
        var identity: IdentityFile?
        if manifest.encryption != nil {
            guard let encryption, encryption.identityFile != nil || encryption.identityEnv != nil else {
                throw FleetEngineError.refused("\(manifest.file) is encrypted with age and no identity is configured (backup.encrypt.identity_file or identity_env): nothing was touched")
            }
            let path: String
            if let file = encryption.identityFile {
                try checkPermissions(ofIdentity: file, environment: environment)
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

    /// Set to `1`, an identity file readable by others is used all the same.
    static let allowOpenIdentity = "GWI_FLEET_ALLOW_OPEN_IDENTITY"

    /// Refuses an identity file that is missing, or readable by its group or others (as ssh does
    /// with a private key), unless `GWI_FLEET_ALLOW_OPEN_IDENTITY=1`.
    static func checkPermissions(ofIdentity path: String, environment: [String: String]) throws {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw FleetEngineError.refused(VenueError("cannot read the age identity file \(path): \(String(cString: strerror(errno)))",
                                                      hint: "check backup.encrypt.identity_file"))
        }
        let mode = status.st_mode & 0o777
        guard mode & 0o077 == 0 || environment[allowOpenIdentity] == "1" else {
            throw FleetEngineError.refused(VenueError(
                "permissions \(String(format: "%04o", mode)) for the age identity file \(path) are too open: a private key must be readable by its owner only; nothing was touched",
                hint: "chmod 600 \(path), or set \(allowOpenIdentity)=1 to use it all the same"))
        }
    }

    static func tool(_ name: String, package: String) throws -> String {
        do { return try PgTools.findOnPath(name, environment: ProcessInfo.processInfo.environment) } catch {
            throw FleetEngineError.refused(VenueError("\(name) not found on PATH", hint: "install the Debian package `\(package)` (scripts/install-deps)"))
        }
    }
}

/// An age identity from an environment variable, handed to `age -i` without ever being on disk:
/// it lives in an anonymous memory file (`memfd_create`, close-on-exec, so no child inherits it)
/// that age opens as `/proc/<our pid>/fd/<n>`, and it goes when this does or when the process
/// dies, `kill -9` included.
final class IdentityFile: Sendable {
    /// What to pass to `age -i`.
    let path: String
    private let descriptor: Int32

    init(_ key: String) throws {
        guard let memfdCreate = Self.memfdCreate else {
            throw FleetEngineError.refused("memfd_create is not available: identity_env needs Linux 3.17 or later; use identity_file")
        }
        let descriptor = "gwi-fleet-identity".withCString { memfdCreate($0, Self.closeOnExec) }
        guard descriptor >= 0 else { throw FleetEngineError.file(path: "memfd", operation: "create", errno: errno) }
        let bytes = Array((key.hasSuffix("\n") ? key : key + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else {
                let code = errno
                close(descriptor)
                throw FleetEngineError.file(path: "memfd", operation: "write the identity to", errno: code)
            }
            written += count
        }
        self.descriptor = descriptor
        path = "/proc/\(getpid())/fd/\(descriptor)"
    }

    deinit {
        close(descriptor)
    }

    // Glibc's Swift module does not export memfd_create; it is looked up by name.
    private typealias MemfdCreate = @convention(c) (UnsafePointer<CChar>, UInt32) -> Int32
    private static let memfdCreate: MemfdCreate? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "memfd_create") else { return nil }
        return unsafeBitCast(symbol, to: MemfdCreate.self)
    }()
    private static let closeOnExec: UInt32 = 1  // MFD_CLOEXEC

    /// `gwi-fleet-identity-*` directories of this user in the temporary directory: versions before
    /// this one wrote the key to `identity.txt` there, and a killed run left it. Removed once per process.
    static func removeLeftovers() { _ = leftoversRemoved }

    private static let leftoversRemoved: Void = {
        let temporary = FileManager.default.temporaryDirectory.path
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: temporary) else { return }
        for name in names where name.hasPrefix("gwi-fleet-identity-") {
            let directory = temporary + "/" + name
            var status = stat()
            guard lstat(directory, &status) == 0, status.st_uid == getuid(), status.st_mode & S_IFMT == S_IFDIR else { continue }
            unlink(directory + "/identity.txt")
            rmdir(directory)
        }
    }()
}

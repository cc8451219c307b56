import FleetModel
import Foundation

/// An rclone remote (S3, GCS, Azure, SFTP, B2, …) holding each venue's backups below
/// `<url>/<slug>/`. Every call is one `rclone` child; credentials stay in rclone's own config or
/// `RCLONE_CONFIG_*` environment and never appear in gwi-fleet's arguments, reports or logs.
public struct RcloneRemote: BackupStore {
    /// `offsite:gwi-pos-backups/fleet`
    public var url: String
    /// Changes to the environment of the rclone children (tests unset `AWS_CA_BUNDLE` here).
    public var environment: [String: String?]

    public init(url: String, environment: [String: String?] = [:]) {
        self.url = url
        self.environment = environment
    }

    public var location: String { url }

    public func path(_ slug: String, _ name: String) -> String { url + "/" + slug + "/" + name }
    public func path(_ slug: String) -> String { url + "/" + slug }
    public func localPath(_ slug: String, _ name: String) -> String? { nil }

    /// Short retries: a remote that is down fails the venue in seconds, `upload` catches up later.
    static let commonFlags = ["--retries", "2", "--low-level-retries", "3", "--contimeout", "10s", "--timeout", "60s", "-q"]

    func rclone(_ arguments: [String], output: ChildProcess.Output = .discarded) async throws -> ChildProcess.Result {
        let tool = try BackupCodec.tool("rclone", package: "rclone")
        var child = ChildProcess(tool, arguments + Self.commonFlags, grace: .seconds(5))
        child.unsetEnvironment = Set(environment.filter { $0.value == nil }.keys)
        child.environment = environment.compactMapValues { $0 }
        return try await child.run(output: output)
    }

    func check(_ result: ChildProcess.Result, _ what: String) throws {
        guard result.succeeded else {
            throw FleetEngineError.toolFailed(tool: "rclone", status: result.statusText, message: "\(what): \(result.errorTail)")
        }
    }

    /// A venue's objects, with the MD5 the backend keeps where it has one. Empty when there are none.
    public func list(_ slug: String) async throws -> [StoredFile] {
        let result = try await rclone(["lsjson", "--hash", "--files-only", path(slug)], output: .captured(limit: 64 << 20))
        if !result.succeeded && (result.standardError.contains("directory not found") || result.standardError.contains("not found")) { return [] }
        try check(result, "list \(path(slug))")
        struct Object: Decodable {
            var Name: String
            var Size: Int
            var ModTime: String
            var Hashes: [String: String]?
        }
        let objects = try JSONDecoder().decode([Object].self, from: Data(result.standardOutput.utf8))
        return objects.map { object in
            StoredFile(name: object.Name, bytes: object.Size, modified: Timestamp.parse(object.ModTime) ?? .distantPast,
                       md5: object.Hashes?["md5"].flatMap { $0.isEmpty ? nil : $0 })
        }
    }

    /// The venues (directories) the remote holds.
    public func venues() async throws -> [String] {
        let result = try await rclone(["lsjson", "--dirs-only", url], output: .captured(limit: 16 << 20))
        if !result.succeeded && result.standardError.contains("not found") { return [] }
        try check(result, "list \(url)")
        struct Object: Decodable { var Name: String }
        return try JSONDecoder().decode([Object].self, from: Data(result.standardOutput.utf8)).map(\.Name)
    }

    /// A small object (manifest, record); nil when there is none.
    public func read(_ slug: String, _ name: String) async throws -> Data? {
        let result = try await rclone(["cat", path(slug, name)], output: .captured(limit: 16 << 20))
        if !result.succeeded && result.standardError.contains("not found") { return nil }
        try check(result, "read \(path(slug, name))")
        return Data(result.standardOutput.utf8)
    }

    /// Writes a small object through a private temporary file (rclone uploads files).
    public func write(_ data: Data, _ slug: String, _ name: String) async throws {
        let directory = try PrivateDirectory()
        let local = directory.path + "/" + name
        try DurableFile.write(data, to: local)
        try await upload(local, slug, name)
    }

    public func upload(_ localPath: String, _ slug: String, _ name: String) async throws {
        try check(try await rclone(["copyto", localPath, path(slug, name)]), "upload \(name) to \(path(slug))")
    }

    public func download(_ slug: String, _ name: String, to localPath: String) async throws {
        try check(try await rclone(["copyto", path(slug, name), localPath]), "download \(path(slug, name))")
    }

    public func delete(_ slug: String, _ name: String) async throws {
        try check(try await rclone(["deletefile", path(slug, name)]), "delete \(path(slug, name))")
    }
}

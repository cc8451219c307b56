import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// The Neon API of `neon_test_server.py` on 127.0.0.1, backed by an archived cluster: each branch
/// it makes is that cluster recovered by pgBackRest at the branch's moment, running on a loopback
/// address of its own at the cluster's port. Its branches' servers are stopped at exit.
public final class NeonTestServer: Sendable {
    public let port: Int
    public let directory: String
    public let apiKey: String
    public let projectID: String
    public var url: String { "http://127.0.0.1:\(port)/api/v2" }

    private static let running = Mutex<[String]>([])

    public init(cluster: ArchivedCluster, apiKey: String, projectID: String = "round-forest-123456",
                historyRetentionSeconds: Int = 86_400) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-neon-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o755)
        // The default branch's history starts where the archive can first recover to.
        let created = Date(timeIntervalSince1970: cluster.fullBackupFinishedAround.timeIntervalSince1970.rounded(.down) + 1)
        let formatter = ISO8601DateFormatter()
        let config: [String: Any] = [
            "api_key": apiKey, "project_id": projectID, "history_retention_seconds": historyRetentionSeconds,
            "main_created_at": formatter.string(from: created), "stanza": cluster.stanza, "pgbackrest_config": cluster.configPath,
            "bin_dir": cluster.binDirectory, "pg_port": cluster.port,
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: directory + "/config.json"))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("neon_test_server.py").path
        let python = try MotoServer.find("python3")
        let started = try BackgroundProcess.serve("the Neon test server") { port in
            (python, [script, String(port), directory, directory + "/config.json"])
        }
        (self.port, self.directory, self.apiKey, self.projectID) = (started, directory, apiKey, projectID)
        let pgCtl = cluster.binDirectory + "/pg_ctl"
        Self.running.withLock { list in
            if list.isEmpty {
                atexit {
                    for entry in NeonTestServer.running.withLock({ $0 }) {
                        let parts = entry.split(separator: "\u{0}").map(String.init)
                        NeonTestServer.stopBranches(pgCtl: parts[0], directory: parts[1])
                    }
                }
            }
            list.append(pgCtl + "\u{0}" + directory)
        }
    }

    private static func stopBranches(pgCtl: String, directory: String) {
        for branch in (try? FileManager.default.contentsOfDirectory(atPath: directory + "/branches")) ?? [] {
            let data = directory + "/branches/" + branch
            if FileManager.default.fileExists(atPath: data + "/postmaster.pid") {
                let arguments = ["-D", data, "-m", "immediate", "-w", "stop"]
                _ = getuid() == 0
                    ? try? Shell.run("/usr/sbin/runuser", ["-u", "postgres", "--", "/usr/bin/env", "-C", "/", pgCtl] + arguments)
                    : try? Shell.run(pgCtl, arguments)
            }
        }
        // Kept when a branch failed to start: errors.log says why.
        if !FileManager.default.fileExists(atPath: directory + "/errors.log") { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Every request so far: `method`, `path`, `body`, `authorized` (the bearer token was right).
    public func requests() -> [[String: Any]] {
        ((try? String(contentsOfFile: directory + "/requests.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Directories of the branch clusters that exist now (a deleted branch's is removed).
    public func branchDirectories() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/branches")) ?? []).sorted()
            .map { directory + "/branches/" + $0 }
    }

    /// The server log of a deleted branch's cluster (statements that change schema are logged).
    public func logOfDeletedBranch(_ name: String) -> String? {
        try? String(contentsOfFile: directory + "/deleted/\(name).log", encoding: .utf8)
    }

    /// Makes the operations of branches created from now on end `failed` (or not), or take
    /// `delaySeconds` longer.
    public func failOperations(_ fail: Bool, delaySeconds: Double = 0, failDelete: Bool = false, hangUpAfterCreate: Bool = false) throws {
        try JSONSerialization.data(withJSONObject: ["fail_operations": fail, "delay_seconds": delaySeconds, "fail_delete": failDelete,
                                                    "hang_up_after_create": hangUpAfterCreate])
            .write(to: URL(fileURLWithPath: directory + "/control.json"))
    }

    /// Makes a branch of the default branch without an endpoint (nothing runs for it).
    public func createBranch(_ name: String) async throws {
        var request = URLRequest(url: URL(string: url + "/projects/\(projectID)/branches")!)
        (request.httpMethod, request.httpBody) = ("POST", try JSONSerialization.data(withJSONObject: ["branch": ["name": name]]))
        request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization")
        let (_, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 201 else { throw Shell.Failure(message: "could not create branch \(name)") }
    }

    /// The branches the API lists now (name → parsed JSON), by a plain GET.
    public func branches() async throws -> [[String: Any]] {
        var request = URLRequest(url: URL(string: url + "/projects/\(projectID)/branches")!)
        request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: request)
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return object?["branches"] as? [[String: Any]] ?? []
    }
}

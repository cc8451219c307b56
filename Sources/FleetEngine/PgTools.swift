import Foundation
import Subprocess

/// The PostgreSQL client programs on this machine (found on PATH) and their versions.
public struct PgTools: Sendable {
    public var pgDump: String
    /// `pg_dump (PostgreSQL) 15.18 (Debian …)` → 15.18
    public var pgDumpVersion: String
    public var pgDumpMajor: Int

    /// Finds pg_dump and reads its version.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> PgTools {
        let path = try findOnPath("pg_dump", environment: environment)
        let result = try await Subprocess.run(.path(.init(path)), arguments: ["--version"], output: .string(limit: 4096),
                                              error: .discarded)
        let text = result.standardOutput
        guard let version = text.split(separator: " ").first(where: { $0.first?.isNumber == true }).map(String.init),
              let major = Int(version.split(separator: ".").first ?? "") else {
            throw FleetEngineError.toolFailed(tool: "pg_dump --version", status: "printed no version", message: text)
        }
        return PgTools(pgDump: path, pgDumpVersion: version, pgDumpMajor: major)
    }

    static func findOnPath(_ name: String, environment: [String: String]) throws -> String {
        for directory in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw FleetEngineError.toolMissing(name)
    }
}

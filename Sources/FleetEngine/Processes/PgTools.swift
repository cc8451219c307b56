import Foundation

/// The PostgreSQL client programs gwi-fleet runs, and pg_dump's version.
///
/// Each is `$GWI_PG_BINDIR/<tool>` when that is set, else the one on PATH. Debian's PATH entries are
/// pg_wrapper, a Perl script that, for a remote server, runs the newest installed version; we run
/// that binary directly and save the Perl start-up on every venue.
public struct PgTools: Sendable {
    public var pgDump: String
    public var pgRestore: String
    public var psql: String
    /// `pg_dump (PostgreSQL) 15.18 (Debian …)` → 15.18
    public var pgDumpVersion: String
    public var pgDumpMajor: Int

    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> PgTools {
        let pgDump = try find("pg_dump", environment: environment)
        let text = try await ChildProcess(pgDump, ["--version"]).run(output: .captured(limit: 4096)).standardOutput
        guard let version = text.split(separator: " ").first(where: { $0.first?.isNumber == true }).map(String.init),
              let major = Int(version.split(separator: ".").first ?? "") else {
            throw FleetEngineError.toolFailed(tool: "pg_dump --version", status: "printed no version", message: text)
        }
        return PgTools(pgDump: pgDump, pgRestore: try find("pg_restore", environment: environment),
                       psql: try find("psql", environment: environment), pgDumpVersion: version, pgDumpMajor: major)
    }

    static func find(_ tool: String, environment: [String: String]) throws -> String {
        if let directory = environment["GWI_PG_BINDIR"] {
            let path = directory + "/" + tool
            guard FileManager.default.isExecutableFile(atPath: path) else { throw FleetEngineError.toolMissing(path) }
            return path
        }
        let path = try findOnPath(tool, environment: environment)
        if URL(fileURLWithPath: path).resolvingSymlinksInPath().lastPathComponent == "pg_wrapper",
           let newest = newestInstalled(tool) {
            return newest
        }
        return path
    }

    /// `/usr/lib/postgresql/<newest>/bin/<tool>`, where Debian installs each major version.
    static func newestInstalled(_ tool: String) -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.reversed().map { "\(root)/\($0)/bin/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func findOnPath(_ name: String, environment: [String: String]) throws -> String {
        for directory in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw FleetEngineError.toolMissing(name)
    }
}

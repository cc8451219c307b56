import Foundation
import TestSupport

/// Runs the built `gwi-fleet` executable (it sits beside the test bundle) in a working directory.
enum CLI {
    static let executable: String = {
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        return bundle.appendingPathComponent("gwi-fleet").path
    }()

    /// Runs it on a thread of its own: a test waiting for gwi-fleet never holds the cooperative pool.
    static func run(_ arguments: [String], environment extra: [String: String] = [:], unsetting: [String] = []) async throws -> Shell.Output {
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in extra { environment[key] = value }
        for key in unsetting { environment[key] = nil }
        return try await Shell.captureInBackground(executable, arguments, environment: environment)
    }
}

/// A directory holding a fleet file written for one test.
struct FleetDirectory {
    let path: String

    /// Writes the fleet file. The shared test cluster holds every other test's databases, which
    /// are not this fleet's to cover: unless the file says `ignore:` itself, coverage ignores them.
    init(_ yaml: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-cli-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let text = yaml.contains("\nignore:") ? yaml : yaml + "\nignore: [\"%\"]\n"
        try text.write(toFile: fleet, atomically: true, encoding: .utf8)
    }

    var fleet: String { path + "/fleet.yaml" }

    /// Every report saved so far, oldest first (names of one second differ only by a `-2` suffix).
    var reports: [String] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: path + "/reports")) ?? [])
            .filter { $0.hasSuffix(".json") }.map { path + "/reports/" + $0 }
        let modified = { (file: String) in
            ((try? FileManager.default.attributesOfItem(atPath: file))?[.modificationDate] as? Date) ?? .distantPast
        }
        return files.sorted { (modified($0), $0.count, $0) < (modified($1), $1.count, $1) }
    }

    func report() throws -> [String: Any] {
        guard let last = reports.last else { throw Shell.Failure(message: "no report in \(path)/reports") }
        return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: last))) as! [String: Any]
    }

    /// Every file below the directory, as relative paths.
    var allFiles: [String] {
        let enumerator = FileManager.default.enumerator(atPath: path)
        return (enumerator?.allObjects as? [String] ?? []).sorted()
    }
}

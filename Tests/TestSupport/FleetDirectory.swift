import Foundation

/// A directory holding a fleet file written for one test.
public struct FleetDirectory: Sendable {
    public let path: String

    /// Writes the fleet file. The shared test cluster holds every other test's databases, which
    /// are not this fleet's to cover: unless the file says `ignore:` itself, coverage ignores them.
    public init(_ yaml: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-cli-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let text = yaml.contains("\nignore:") ? yaml : yaml + "\nignore: [\"%\"]\n"
        try text.write(toFile: fleet, atomically: true, encoding: .utf8)
    }

    public var fleet: String { path + "/fleet.yaml" }

    /// Every report saved so far, oldest first (names of one second differ only by a `-2` suffix).
    public var reports: [String] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: path + "/reports")) ?? [])
            .filter { $0.hasSuffix(".json") }.map { path + "/reports/" + $0 }
        let modified = { (file: String) in
            ((try? FileManager.default.attributesOfItem(atPath: file))?[.modificationDate] as? Date) ?? .distantPast
        }
        return files.sorted { (modified($0), $0.count, $0) < (modified($1), $1.count, $1) }
    }

    public func report() throws -> [String: Any] {
        guard let last = reports.last else { throw Shell.Failure(message: "no report in \(path)/reports") }
        return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: last))) as! [String: Any]
    }

    /// Every file below the directory, as relative paths.
    public var allFiles: [String] {
        let enumerator = FileManager.default.enumerator(atPath: path)
        return (enumerator?.allObjects as? [String] ?? []).sorted()
    }
}

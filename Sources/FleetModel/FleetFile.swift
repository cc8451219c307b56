import Foundation
import Yams

/// Reads a fleet file: YAML → entries and defaults, every problem collected → a resolved `Fleet`.
///
/// Precedence is venue > `defaults:` > built-in; the command line applies its own overrides after.
/// Discovered venues (`discover:`) are added later by the engine, through `Fleet.adding(discovered:)`.
public enum FleetFile {
    /// Built-in URL-free defaults.
    public static let defaultDatabaseTemplate = "gwi_pos_{slug_}"
    public static let defaultBackupDirectory = "backups"
    public static let defaultReportsDirectory = "reports"

    /// Loads and validates the fleet file at `path`.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(FleetFileError) -> Fleet {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let text: String
        do {
            text = try String(contentsOfFile: absolute, encoding: .utf8)
        } catch {
            throw .unreadable(path: absolute, reason: FileManager.default.fileExists(atPath: absolute)
                              ? "not readable as UTF-8 text" : "no such file (pass --fleet PATH)")
        }
        return try parse(yaml: text, path: absolute, environment: environment)
    }

    /// Validates fleet-file text; `path` anchors relative directories and names the file in errors.
    public static func parse(yaml: String, path: String, environment: [String: String]) throws(FleetFileError) -> Fleet {
        var reader = Reader(environment: environment, baseDirectory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        guard let read = reader.read(yaml) else { throw .invalid(path: path, problems: Self.sorted(reader.problems)) }
        // Every problem at once: those of reading, and those of resolving what could be read.
        var problems = reader.problems
        var resolver = Resolver(baseDirectory: reader.baseDirectory)
        resolver.defaultMaxBackupAge = read.policy.maxBackupAge
        let venues = resolver.venues(read.entries, defaults: read.defaults, problems: &problems)
        guard problems.isEmpty else { throw .invalid(path: path, problems: Self.sorted(problems)) }
        var fleet = Fleet(path: path, venues: venues, jobs: read.jobs, reportsDirectory: read.reportsDirectory,
                          discovery: read.discovery, ignore: read.ignore, defaults: read.defaults, entries: read.entries)
        fleet.notify = read.notify
        (fleet.metricsTextfile, fleet.metricsPushgateway) = read.metrics
        fleet.policy = read.policy
        fleet.reportsKeepDays = read.reportsKeepDays
        return fleet
    }

    static func sorted(_ problems: [FleetFileProblem]) -> [FleetFileProblem] {
        problems.enumerated().sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }.map(\.element)
    }

    /// `^[a-z0-9]+([-_][a-z0-9]+)*$`, at most 50 characters: the product's kebab-case slugs
    /// (`joes-bar`), underscores still accepted.
    public static func isValidSlug(_ slug: String) -> Bool {
        guard !slug.isEmpty, slug.utf8.count <= 50 else { return false }
        var previousWasSeparator = true
        for scalar in slug.unicodeScalars {
            let isSeparator = scalar == "-" || scalar == "_"
            if isSeparator {
                if previousWasSeparator { return false }
            } else if !(("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)) {
                return false
            }
            previousWasSeparator = isSeparator
        }
        return !previousWasSeparator
    }

    /// Why a database name cannot be used, or nil: PostgreSQL's 63 bytes, and nothing that could
    /// leave the backup directory or break a connection string (`/`, NUL, control characters).
    public static func databaseNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "database name is empty" }
        if name.utf8.count > 63 { return "database name `\(name)` is \(name.utf8.count) bytes; PostgreSQL allows 63" }
        if name.unicodeScalars.contains(where: { $0 == "/" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7f }) {
            return "database name `\(name.debugDescription.dropFirst().dropLast())` has a `/`, `\\` or control character"
        }
        return nil
    }
}

import Foundation
import Yams

/// Reads a fleet file: YAML → raw values → every problem collected → a resolved `Fleet`.
///
/// Precedence is venue > `defaults:` > built-in; the command line applies its own overrides after.
public enum FleetFile {
    /// Built-in URL-free defaults.
    public static let defaultDatabaseTemplate = "gwi_pos_{slug}"
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
        let fleet = reader.read(yaml)
        if let fleet, reader.problems.isEmpty { return Fleet(path: path, venues: fleet.venues, jobs: fleet.jobs,
                                                              reportsDirectory: fleet.reportsDirectory) }
        let sorted = reader.problems.enumerated().sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }
        throw .invalid(path: path, problems: sorted.map(\.element))
    }
}

/// Settings a venue may set itself or inherit from `defaults:`.
private struct Settings {
    var url: String?
    /// True when `url` was written, even if it could not be used.
    var urlWritten = false
    var directURL: String?
    var passwordEnv: String?
    var timeout: Duration?
    var backupDirectory: String?
    var backupFormat: BackupFormat?
    var keepDays: Int?
    var keepMin: Int?
    var maxAge: Duration?
    var scratchURL: String?
    var verifyTables: [String]?

    func over(_ base: Settings) -> Settings {
        Settings(url: url ?? base.url, urlWritten: urlWritten || base.urlWritten, directURL: directURL ?? base.directURL, passwordEnv: passwordEnv ?? base.passwordEnv,
                 timeout: timeout ?? base.timeout, backupDirectory: backupDirectory ?? base.backupDirectory,
                 backupFormat: backupFormat ?? base.backupFormat, keepDays: keepDays ?? base.keepDays,
                 keepMin: keepMin ?? base.keepMin, maxAge: maxAge ?? base.maxAge, scratchURL: scratchURL ?? base.scratchURL,
                 verifyTables: verifyTables ?? base.verifyTables)
    }
}

private struct Reader {
    let environment: [String: String]
    let baseDirectory: String
    var problems: [FleetFileProblem] = []

    static let topKeys = ["version", "defaults", "venues", "reports"]
    static let settingKeys = ["url", "direct_url", "password_env", "timeout", "backup", "verify"]
    static let defaultsKeys = settingKeys + ["jobs"]
    static let venueKeys = settingKeys + ["slug", "database", "tags", "enabled"]
    static let backupKeys = ["dir", "format", "retention", "max_age"]
    static let retentionKeys = ["keep_days", "keep_min"]
    static let verifyKeys = ["scratch_url", "tables"]
    static let reportsKeys = ["dir"]

    init(environment: [String: String], baseDirectory: String) {
        self.environment = environment
        self.baseDirectory = baseDirectory
    }

    mutating func read(_ yaml: String) -> (venues: [Venue], jobs: Int, reportsDirectory: String)? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            problems.append(Self.problem(from: error))
            return nil
        } catch {
            problems.append(FleetFileProblem(message: "not valid YAML: \(error)"))
            return nil
        }
        guard let root, let top = mapping(root, key: nil, venue: nil, allowed: Self.topKeys) else {
            if root == nil { problems.append(FleetFileProblem(message: "the file is empty; it needs `version: 1` and `venues:`")) }
            return nil
        }

        if let version = top["version"] {
            if int(version.value, key: "version", venue: nil) != 1 && version.value.int != nil {
                problems.append(FleetFileProblem(key: "version", line: line(version.value),
                                                 message: "unsupported version \(version.value.string ?? "?"); this gwi-fleet reads version 1"))
            }
        }

        var defaults = Settings()
        var jobs = Fleet.defaultJobs
        if let node = top["defaults"], let map = mapping(node.value, key: "defaults", venue: nil, allowed: Self.defaultsKeys) {
            defaults = settings(map, prefix: "defaults.", venue: nil)
            if let jobsNode = map["jobs"], let value = int(jobsNode.value, key: "defaults.jobs", venue: nil) {
                if value >= 1 { jobs = value } else {
                    problems.append(FleetFileProblem(key: "defaults.jobs", line: line(jobsNode.value),
                                                     message: "must be at least 1, got \(value)"))
                }
            }
        }

        var reportsDirectory = FleetFile.defaultReportsDirectory
        if let node = top["reports"], let map = mapping(node.value, key: "reports", venue: nil, allowed: Self.reportsKeys),
           let dir = map["dir"], let value = string(dir.value, key: "reports.dir", venue: nil) {
            reportsDirectory = value
        }

        guard let venuesNode = top["venues"] else {
            problems.append(FleetFileProblem(key: "venues", message: "missing: list the venue databases under `venues:`"))
            return nil
        }
        guard case .sequence(let list) = venuesNode.value else {
            problems.append(FleetFileProblem(key: "venues", line: line(venuesNode.value), message: "must be a list of venues"))
            return nil
        }
        if list.isEmpty {
            problems.append(FleetFileProblem(key: "venues", line: line(venuesNode.value), message: "the list is empty"))
        }

        var venues: [Venue] = []
        var firstLineOfSlug: [String: Int] = [:]
        for (index, node) in list.enumerated() {
            guard let venue = venue(node, index: index, defaults: defaults) else { continue }
            if let first = firstLineOfSlug[venue.slug] {
                problems.append(FleetFileProblem(venue: venue.slug, key: "slug", line: venue.line,
                                                 message: "duplicate slug; already used by the venue at line \(first)"))
                continue
            }
            firstLineOfSlug[venue.slug] = venue.line ?? 0
            venues.append(venue)
        }
        return (venues, jobs, absolute(reportsDirectory))
    }

    mutating func venue(_ node: Node, index: Int, defaults: Settings) -> Venue? {
        // Name the venue by its slug in every problem, when it has a readable one.
        var name = "venues[\(index + 1)]"
        if case .mapping(let raw) = node, let slug = raw["slug"]?.scalar?.string { name = slug }
        guard let map = mapping(node, key: nil, venue: name, allowed: Self.venueKeys) else { return nil }
        guard let slugNode = map["slug"] else {
            problems.append(FleetFileProblem(venue: name, key: "slug", line: line(node), message: "missing: every venue needs a slug"))
            return nil
        }
        guard let slug = string(slugNode.value, key: "slug", venue: name) else { return nil }
        name = slug
        var valid = true
        if !Self.isValidSlug(slug) {
            problems.append(FleetFileProblem(venue: slug, key: "slug", line: line(slugNode.value),
                                             message: "slug must match [a-z0-9][a-z0-9_]* (lowercase letters, digits, underscores)"))
            valid = false
        }
        let own = settings(map, prefix: "", venue: slug)
        let resolved = own.over(defaults)

        var database = FleetFile.defaultDatabaseTemplate.replacingOccurrences(of: "{slug}", with: slug)
        if let node = map["database"], let value = string(node.value, key: "database", venue: slug) {
            database = value.replacingOccurrences(of: "{slug}", with: slug)
        }
        if database.utf8.count > 63 {
            problems.append(FleetFileProblem(venue: slug, key: map["database"] == nil ? "slug" : "database",
                                             line: line((map["database"] ?? slugNode).value),
                                             message: "database name `\(database)` is \(database.utf8.count) bytes; PostgreSQL allows 63"))
            valid = false
        }

        var tags: [String] = []
        if let node = map["tags"] { tags = stringList(node.value, key: "tags", venue: slug) ?? [] }
        var enabled = true
        if let node = map["enabled"] {
            if let value = node.value.bool, node.value.scalar != nil { enabled = value } else {
                problems.append(FleetFileProblem(venue: slug, key: "enabled", line: line(node.value), message: "must be true or false"))
            }
        }

        guard let urlTemplate = resolved.url else {
            // A url that is present but broken has its own problem already.
            if map["url"] == nil && !defaults.urlWritten {
                problems.append(FleetFileProblem(venue: slug, key: "url", line: line(node),
                                                 message: "missing: set `url` on the venue or in `defaults:`"))
            }
            return nil
        }
        let fill = { (template: String) in
            template.replacingOccurrences(of: "{slug}", with: slug).replacingOccurrences(of: "{database}", with: database)
        }
        guard valid else { return nil }
        return Venue(
            slug: slug, database: database, url: fill(urlTemplate), directURL: resolved.directURL.map(fill),
            passwordEnv: resolved.passwordEnv, tags: tags, enabled: enabled,
            timeout: resolved.timeout ?? Fleet.defaultTimeout,
            backup: BackupPolicy(directory: absolute(resolved.backupDirectory ?? FleetFile.defaultBackupDirectory),
                                 format: resolved.backupFormat ?? .custom,
                                 retention: RetentionPolicy(keepDays: resolved.keepDays ?? RetentionPolicy.defaultKeepDays,
                                                            keepMin: resolved.keepMin ?? RetentionPolicy.defaultKeepMin)),
            scratchURL: resolved.scratchURL.map(fill),
            verifyTables: resolved.verifyTables ?? Venue.defaultVerifyTables,
            maxBackupAge: resolved.maxAge ?? Venue.defaultMaxBackupAge,
            line: line(node))
    }

    mutating func settings(_ map: [String: (key: Node, value: Node)], prefix: String, venue: String?) -> Settings {
        var result = Settings()
        if let node = map["url"] {
            result.urlWritten = true
            result.url = string(node.value, key: prefix + "url", venue: venue)
        }
        if let node = map["direct_url"] { result.directURL = string(node.value, key: prefix + "direct_url", venue: venue) }
        if let node = map["password_env"], let name = string(node.value, key: prefix + "password_env", venue: venue) {
            if name.range(of: #"^[A-Za-z_][A-Za-z0-9_]*$"#, options: .regularExpression) == nil {
                problems.append(FleetFileProblem(venue: venue, key: prefix + "password_env", line: line(node.value),
                                                 message: "`\(name)` is not an environment variable name"))
            } else if environment[name] == nil {
                problems.append(FleetFileProblem(venue: venue, key: prefix + "password_env", line: line(node.value),
                                                 message: "environment variable \(name) is not set"))
            } else {
                result.passwordEnv = name
            }
        }
        if let node = map["timeout"], let text = string(node.value, key: prefix + "timeout", venue: venue) {
            if let duration = FleetDuration.parse(text) { result.timeout = duration } else {
                problems.append(FleetFileProblem(venue: venue, key: prefix + "timeout", line: line(node.value),
                                                 message: "bad duration `\(text)` (write e.g. 90s, 30m, 1h30m)"))
            }
        }
        if let node = map["backup"],
           let backup = mapping(node.value, key: prefix + "backup", venue: venue, allowed: Self.backupKeys) {
            if let dir = backup["dir"] { result.backupDirectory = string(dir.value, key: prefix + "backup.dir", venue: venue) }
            if let node = backup["max_age"], let text = string(node.value, key: prefix + "backup.max_age", venue: venue) {
                if let duration = FleetDuration.parse(text) { result.maxAge = duration } else {
                    problems.append(FleetFileProblem(venue: venue, key: prefix + "backup.max_age", line: line(node.value),
                                                     message: "bad duration `\(text)` (write e.g. 26h, 2d)"))
                }
            }
            if let node = backup["retention"],
               let retention = mapping(node.value, key: prefix + "backup.retention", venue: venue, allowed: Self.retentionKeys) {
                for (name, minimum) in [("keep_days", 0), ("keep_min", 1)] {
                    guard let node = retention[name], let value = int(node.value, key: prefix + "backup.retention." + name, venue: venue)
                    else { continue }
                    if value < minimum {
                        problems.append(FleetFileProblem(venue: venue, key: prefix + "backup.retention." + name, line: line(node.value),
                                                         message: "must be at least \(minimum), got \(value)"))
                    } else if name == "keep_days" { result.keepDays = value } else { result.keepMin = value }
                }
            }
            if let format = backup["format"], let text = string(format.value, key: prefix + "backup.format", venue: venue) {
                if let value = BackupFormat(rawValue: text) { result.backupFormat = value } else {
                    problems.append(FleetFileProblem(venue: venue, key: prefix + "backup.format", line: line(format.value),
                                                     message: "bad format `\(text)`; use custom or plain"))
                }
            }
        }
        if let node = map["verify"],
           let verify = mapping(node.value, key: prefix + "verify", venue: venue, allowed: Self.verifyKeys) {
            if let scratch = verify["scratch_url"] {
                result.scratchURL = string(scratch.value, key: prefix + "verify.scratch_url", venue: venue)
            }
            if let tables = verify["tables"] {
                result.verifyTables = stringList(tables.value, key: prefix + "verify.tables", venue: venue)
            }
        }
        return result
    }

    // MARK: - Typed reads that record a problem instead of failing

    mutating func mapping(_ node: Node, key: String?, venue: String?, allowed: [String]) -> [String: (key: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "must be a mapping of keys to values"))
            return nil
        }
        var result: [String: (key: Node, value: Node)] = [:]
        for (keyNode, value) in mapping {
            let name = keyNode.string ?? "?"
            let path = key.map { "\($0).\(name)" } ?? name
            guard allowed.contains(name) else {
                let hint = Self.closest(to: name, in: allowed).map { " (did you mean `\($0)`?)" } ?? ""
                problems.append(FleetFileProblem(venue: venue, key: path, line: line(keyNode),
                                                 message: "unknown key\(hint); allowed here: \(allowed.joined(separator: ", "))"))
                continue
            }
            result[name] = (keyNode, value)
        }
        return result
    }

    mutating func string(_ node: Node, key: String, venue: String?) -> String? {
        guard case .scalar(let scalar) = node else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "must be a single value"))
            return nil
        }
        return substitute(scalar.string, key: key, venue: venue, line: line(node))
    }

    mutating func int(_ node: Node, key: String, venue: String?) -> Int? {
        guard node.scalar != nil, let value = node.int else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "must be a whole number"))
            return nil
        }
        return value
    }

    mutating func stringList(_ node: Node, key: String, venue: String?) -> [String]? {
        guard case .sequence(let sequence) = node else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "must be a list, e.g. [west, 24h]"))
            return nil
        }
        return sequence.compactMap { string($0, key: key, venue: venue) }
    }

    /// Replaces `${NAME}` with the environment's value; an undefined name is a problem.
    mutating func substitute(_ text: String, key: String, venue: String?, line: Int?) -> String? {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        var ok = true
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                problems.append(FleetFileProblem(venue: venue, key: key, line: line, message: "unterminated `${` in value"))
                return nil
            }
            let name = String(rest[start.upperBound..<end])
            if let value = environment[name] {
                result += value
            } else {
                problems.append(FleetFileProblem(venue: venue, key: key, line: line,
                                                 message: "environment variable \(name) is not set (used as ${\(name)})"))
                ok = false
            }
            rest = rest[rest.index(after: end)...]
        }
        result += rest
        return ok ? result : nil
    }

    func line(_ node: Node) -> Int? { node.mark?.line }

    func absolute(_ directory: String) -> String {
        directory.hasPrefix("/") ? directory
            : URL(fileURLWithPath: directory, relativeTo: URL(fileURLWithPath: baseDirectory, isDirectory: true)).standardizedFileURL.path
    }

    static func isValidSlug(_ slug: String) -> Bool {
        guard let first = slug.unicodeScalars.first, ("a"..."z").contains(first) || ("0"..."9").contains(first) else { return false }
        return slug.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    static func closest(to word: String, in candidates: [String]) -> String? {
        candidates.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    static func problem(from error: YamlError) -> FleetFileProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return FleetFileProblem(line: mark.line, message: "not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, _):
            return FleetFileProblem(message: "a key is written twice in one mapping: \(duplicates.joined(separator: ", "))")
        default:
            return FleetFileProblem(message: "not valid YAML: \(error)")
        }
    }
}

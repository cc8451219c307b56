import Crypto
import FleetModel
import Foundation

/// The summary of one command over the fleet, computed from the outcomes, saved as JSON under the
/// reports directory, rendered by `report` and the terminal. Versioned: `schema_version` 2 added
/// `run_id`, `fleet.venues_sha256`, `shard` and `problems`; files without it are schema 1.
public struct RunReport: Sendable, Codable {
    public static let schemaVersion = 2

    /// Which fleet the run worked on: the file and a hash of every venue it resolved to, so
    /// reports of shards (or of a changed fleet) can be told apart.
    public struct FleetReference: Sendable, Equatable {
        public var path: String
        public var venuesSHA256: String

        public init(path: String, venuesSHA256: String) {
            self.path = path
            self.venuesSHA256 = venuesSHA256
        }

        /// SHA-256 of the resolved venue list: slug, database, enabled and redacted URLs, in file order.
        public init(_ fleet: Fleet) {
            var digest = SHA256()
            for venue in fleet.venues {
                let line = [venue.slug, venue.database, venue.enabled ? "1" : "0", venue.redactedURL, venue.redactedDirectURL]
                    .joined(separator: "\t") + "\n"
                digest.update(data: Data(line.utf8))
            }
            self.init(path: fleet.path, venuesSHA256: Digester.hex(digest.finalize()))
        }
    }

    /// Which part of a split run this report covers (`--shard`), or what a merge was made of.
    public struct ShardInfo: Sendable, Equatable {
        public var index: Int
        public var count: Int
        /// Every venue the whole run covers (all shards together), in fleet order: what a merge checks against.
        public var allVenues: [String]
        /// Set on a merged report: how many shard reports it was made of.
        public var mergedFrom: Int?

        public init(index: Int, count: Int, allVenues: [String], mergedFrom: Int? = nil) {
            self.index = index
            self.count = count
            self.allVenues = allVenues
            self.mergedFrom = mergedFrom
        }

        var json: JSONValue {
            .object([("index", .int(index)), ("count", .int(count)), ("venues_total", .int(allVenues.count)),
                     ("all_venues", .array(allVenues.map(JSONValue.string))),
                     ("merged_from", mergedFrom.map(JSONValue.int) ?? .null)])
        }

        init?(json: JSONValue?) {
            guard let json, let index = json["index"]?.intValue, let count = json["count"]?.intValue else { return nil }
            self.init(index: index, count: count, allVenues: json["all_venues"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                      mergedFrom: json["merged_from"]?.intValue)
        }
    }

    public var runID: String
    public var command: String
    public var fleet: FleetReference
    public var shard: ShardInfo?
    public var startedAt: Date
    public var finishedAt: Date
    public var interrupted: Bool
    public var outcomes: [VenueOutcome]
    /// `--strict`: a warning counts as a failure for the exit code.
    public var strict: Bool
    /// Fleet-level failures (a combined export that could not be written, a report that could not
    /// be saved): each makes the exit code 1 even when every venue is ok.
    public var problems: [String]
    /// Fleet-wide figures of the command (e.g. `sizes`' totals), after the venues in the JSON.
    public var fleetFields: [(String, JSONValue)]
    /// How the venues were found (`discover:`): source, `fresh` or `stale`, as of when.
    public var discovery: JSONValue
    /// Top-level fields the run's sinks added at its end (`notifications`).
    public var additions: [(String, JSONValue)] = []

    public init(runID: String = RunReport.newRunID(), command: String, fleet: FleetReference, startedAt: Date,
                finishedAt: Date, interrupted: Bool, outcomes: [VenueOutcome], strict: Bool = false,
                problems: [String] = [], fleetFields: [(String, JSONValue)] = [], discovery: JSONValue = .null,
                shard: ShardInfo? = nil) {
        self.runID = runID
        self.shard = shard
        self.discovery = discovery
        self.command = command
        self.fleet = fleet
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.interrupted = interrupted
        self.outcomes = outcomes
        self.strict = strict
        self.problems = problems
        self.fleetFields = fleetFields
    }

    /// `20261126T134501Z-3f9a2c1d`: sorts by time, unique across machines and processes. The
    /// shards of one split run share theirs through `GWI_RUN_ID` (letters, digits, `._-`).
    public static func newRunID(at date: Date = Date(), environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let shared = environment["GWI_RUN_ID"], isValidRunID(shared) { return shared }
        return Timestamp.compact(date) + "-" + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
    }

    public static func isValidRunID(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 100 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    public func count(_ status: VenueStatus) -> Int { outcomes.filter { $0.status == status }.count }

    /// 0 all ok (or warning, or skipped), 1 any failed, any fleet-level problem (or a warning with
    /// --strict), 130 interrupted.
    public var exitCode: Int32 {
        if interrupted { return ExitCodes.interrupted }
        let failed = count(.failed) > 0 || !problems.isEmpty || (strict && count(.warning) > 0)
        return failed ? ExitCodes.venueFailed : ExitCodes.ok
    }

    public var json: JSONValue {
        .object([
            ("schema_version", .int(Self.schemaVersion)),
            ("run_id", .string(runID)),
            ("command", .string(command)),
            ("fleet", .object([("path", .string(fleet.path)), ("venues_sha256", .string(fleet.venuesSHA256))])),
            ("shard", shard?.json ?? .null),
            ("discovery", discovery),
            ("started_at", .string(Timestamp.iso8601(startedAt))),
            ("finished_at", .string(Timestamp.iso8601(finishedAt))),
            ("interrupted", .bool(interrupted)),
            ("strict", .bool(strict)),
            ("exit_code", .int(Int(exitCode))),
            ("summary", .object([("ok", .int(count(.ok))), ("warning", .int(count(.warning))), ("failed", .int(count(.failed))),
                                 ("skipped", .int(count(.skipped)))])),
            ("problems", .array(problems.map(JSONValue.string))),
            ("venues", .array(outcomes.map(Self.json))),
        ] + (fleetFields.isEmpty ? [] : [("fleet_totals", .object(fleetFields))]) + additions)
    }

    static func json(_ outcome: VenueOutcome) -> JSONValue {
        .object([
            ("slug", .string(outcome.slug)),
            ("database", .string(outcome.database)),
            ("status", .string(outcome.status.rawValue)),
            ("duration_ms", .int(outcome.durationMilliseconds)),
            ("error", outcome.error.map(JSONValue.string) ?? .null),
            ("summary", .string(outcome.figures.summary)),
        ] + (outcome.figures.warnings.isEmpty ? [] : [("warnings", .array(outcome.figures.warnings.map(JSONValue.string)))])
          + outcome.figures.fields)
    }

    public func encode(to encoder: Encoder) throws { try json.encode(to: encoder) }

    public init(from decoder: Decoder) throws {
        try self.init(json: try JSONValue(from: decoder))
    }

    /// Reads a schema-2 report back from its JSON; any other schema is an error that says which.
    public init(json: JSONValue) throws(ReportError) {
        let version = json["schema_version"]?.intValue ?? 1
        guard json["command"] != nil, case .array? = json["venues"] else { throw .notAReport }
        guard version == Self.schemaVersion else { throw .otherSchema(version) }
        guard let command = json["command"]?.stringValue, let runID = json["run_id"]?.stringValue,
              let started = json["started_at"]?.stringValue.flatMap(Timestamp.parse),
              let finished = json["finished_at"]?.stringValue.flatMap(Timestamp.parse),
              case .array(let venues)? = json["venues"] else { throw .notAReport }
        let known: Set<String> = ["slug", "database", "status", "duration_ms", "error", "summary", "warnings"]
        var outcomes: [VenueOutcome] = []
        for venue in venues {
            guard let slug = venue["slug"]?.stringValue, let status = venue["status"]?.stringValue.flatMap(VenueStatus.init) else {
                throw .notAReport
            }
            var fields: [(String, JSONValue)] = []
            if case .object(let pairs) = venue { fields = pairs.filter { !known.contains($0.0) } }
            outcomes.append(VenueOutcome(
                slug: slug, database: venue["database"]?.stringValue ?? "", status: status,
                duration: .milliseconds(venue["duration_ms"]?.intValue ?? 0), error: venue["error"]?.stringValue,
                figures: VenueFigures(fields, summary: venue["summary"]?.stringValue ?? "",
                                      warnings: venue["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? [])))
        }
        var totals: [(String, JSONValue)] = []
        if case .object(let pairs)? = json["fleet_totals"] { totals = pairs }
        self.init(runID: runID, command: command,
                  fleet: FleetReference(path: json["fleet"]?["path"]?.stringValue ?? "",
                                        venuesSHA256: json["fleet"]?["venues_sha256"]?.stringValue ?? ""),
                  startedAt: started, finishedAt: finished, interrupted: json["interrupted"] == .bool(true),
                  outcomes: outcomes, strict: json["strict"] == .bool(true),
                  problems: json["problems"]?.arrayValue?.compactMap(\.stringValue) ?? [], fleetFields: totals,
                  discovery: json["discovery"] ?? .null, shard: ShardInfo(json: json["shard"]))
        if let notifications = json["notifications"] { additions = [("notifications", notifications)] }
    }

    /// The newest report of `command` in a directory (by its run's start), a merged one before its
    /// shards; nil when there is none.
    public static func newest(command: String, in directory: String) -> String? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix(command + "-") && $0.hasSuffix(".json") && !$0.contains("-shard") }
        let dated = names.compactMap { name -> (String, Date)? in
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path),
                  let json = try? JSONDecoder().decode(JSONValue.self, from: data),
                  json["command"]?.stringValue == command,
                  let started = json["started_at"]?.stringValue.flatMap(Timestamp.parse) else { return nil }
            return (path, started)
        }
        return dated.max { ($0.1, $0.0) < ($1.1, $1.0) }?.0
    }

    /// Saves `<directory>/<command>-<run id>[-shard<i>of<n>|-merged].json` (0600, written durably)
    /// under a name no other run or shard takes, also in the same second; returns the path.
    @discardableResult
    public func save(in directory: String) throws -> String {
        try DurableFile.makePrivateDirectory(directory)
        let suffix = shard.map { $0.mergedFrom != nil ? "-merged" : "-shard\($0.index)of\($0.count)" } ?? ""
        let path = "\(directory)/\(command)-\(runID)\(suffix).json"
        try DurableFile.writeNew(Data(json.serialized().utf8), to: path)
        return path
    }

    /// Writes the report again over the file `save` made (after sinks added to it).
    public func resave(at path: String) throws {
        try DurableFile.write(Data(json.serialized().utf8), to: path)
    }
}

/// Why a file could not be read as a report.
public enum ReportError: Error, Sendable, Equatable, CustomStringConvertible {
    case notAReport
    case otherSchema(Int)

    public var description: String {
        switch self {
        case .notAReport: "not a gwi-fleet report"
        case .otherSchema(let version) where version < RunReport.schemaVersion:
            "an older report (schema \(version); this gwi-fleet writes schema \(RunReport.schemaVersion))"
        case .otherSchema(let version):
            "a report of a newer gwi-fleet (schema \(version); this one reads up to \(RunReport.schemaVersion)): upgrade gwi-fleet"
        }
    }
}

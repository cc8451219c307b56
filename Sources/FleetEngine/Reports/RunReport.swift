import Crypto
import FleetModel
import Foundation

/// The summary of one command over the fleet, computed from the outcomes, saved as JSON under the
/// reports directory, rendered by `report` and the terminal. Versioned: `schema_version` 2 added
/// `run_id`, `fleet.venues_sha256`, `shard` and `problems`; 3 made every result a typed value
/// (`backup --prune`'s deletions under `pruned`, `check`'s size as `database_bytes`, `restore`'s
/// target as `restored_into`). Files of schema 1 and 2 still read, into the same types.
public struct RunReport: Sendable, Codable {
    public static let schemaVersion = 3

    /// Which fleet the run worked on: the file and a hash of every venue it resolved to, so
    /// reports of shards (or of a changed fleet) can be told apart.
    public struct FleetReference: Sendable, Equatable, Codable {
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

        enum CodingKeys: String, CodingKey { case path, venuesSHA256 = "venues_sha256" }
    }

    /// Which part of a split run this report covers (`--shard`), or what a merge was made of.
    public struct ShardInfo: Sendable, Equatable, Codable {
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

        enum CodingKeys: String, CodingKey {
            case index, count, venuesTotal = "venues_total", allVenues = "all_venues", mergedFrom = "merged_from"
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(index: try container.decode(Int.self, forKey: .index), count: try container.decode(Int.self, forKey: .count),
                      allVenues: try container.decodeIfPresent([String].self, forKey: .allVenues) ?? [],
                      mergedFrom: try container.decodeIfPresent(Int.self, forKey: .mergedFrom))
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(index, forKey: .index)
            try container.encode(count, forKey: .count)
            try container.encode(allVenues.count, forKey: .venuesTotal)
            try container.encode(allVenues, forKey: .allVenues)
            try container.encode(mergedFrom, forKey: .mergedFrom)
        }
    }

    /// The venues' statuses counted.
    public struct Counts: Sendable, Equatable, Codable {
        public var ok, warning, failed, skipped: Int
    }

    /// The schema of the file this was read from; `schemaVersion` for a report made by this run.
    public var schema: Int = RunReport.schemaVersion
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
    /// Fleet-wide figures of the command (coverage, `sizes`' totals, a combined export's file).
    public var totals: FleetTotals
    /// How the venues were found (`discover:`): source, `fresh` or `stale`, as of when.
    public var discovery: DiscoveryStatus?
    /// What the notification sink sent at the run's end.
    public var notifications: [NotificationDelivery]?

    public init(runID: String = RunReport.newRunID(), command: String, fleet: FleetReference, startedAt: Date,
                finishedAt: Date, interrupted: Bool, outcomes: [VenueOutcome], strict: Bool = false,
                problems: [String] = [], totals: FleetTotals = FleetTotals(), discovery: DiscoveryStatus? = nil,
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
        self.totals = totals
    }

    /// `20261126T134501Z-3f9a2c1d`: sorts by time, unique across machines and processes. The
    /// shards of one split run share theirs through `GWI_RUN_ID` (letters, digits, `._-`).
    public static func newRunID(at date: Date = WallClock.now(), environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let shared = environment["GWI_RUN_ID"], isValidRunID(shared) { return shared }
        return Timestamp.compact(date) + "-" + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
    }

    public static func isValidRunID(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 100 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    public func count(_ status: VenueStatus) -> Int { outcomes.filter { $0.status == status }.count }

    public var counts: Counts { Counts(ok: count(.ok), warning: count(.warning), failed: count(.failed), skipped: count(.skipped)) }

    /// 0 all ok (or warning, or skipped), 1 any failed, any fleet-level problem (or a warning with
    /// --strict), 130 interrupted.
    public var exitCode: Int32 {
        if interrupted { return ExitCodes.interrupted }
        let failed = count(.failed) > 0 || !problems.isEmpty || (strict && count(.warning) > 0)
        return failed ? ExitCodes.venueFailed : ExitCodes.ok
    }

    /// The report as its file holds it (pretty JSON, keys sorted).
    public var jsonText: String { JSONCoding.text(self) }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", runID = "run_id", command, fleet, shard, discovery
        case startedAt = "started_at", finishedAt = "finished_at", interrupted, strict, exitCode = "exit_code"
        case summary, problems, venues, totals = "fleet_totals", notifications
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schemaVersion, forKey: .schemaVersion)
        try container.encode(runID, forKey: .runID)
        try container.encode(command, forKey: .command)
        try container.encode(fleet, forKey: .fleet)
        try container.encode(shard, forKey: .shard)
        try container.encode(discovery, forKey: .discovery)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
        try container.encode(interrupted, forKey: .interrupted)
        try container.encode(strict, forKey: .strict)
        try container.encode(Int(exitCode), forKey: .exitCode)
        try container.encode(counts, forKey: .summary)
        try container.encode(problems, forKey: .problems)
        var venues = container.nestedUnkeyedContainer(forKey: .venues)
        for outcome in outcomes { try outcome.encode(to: venues.superEncoder()) }
        if !totals.isEmpty { try container.encode(totals, forKey: .totals) }
        try container.encodeIfPresent(notifications, forKey: .notifications)
    }

    /// Reads a report of any schema up to this one's; a newer one is an error that says so.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard container.contains(.command), container.contains(.venues) else { throw ReportError.notAReport }
        let version = try container.decodeIfPresent(Int.self, forKey: .schemaVersion) ?? 1
        guard version <= Self.schemaVersion else { throw ReportError.otherSchema(version) }
        let command = try container.decode(String.self, forKey: .command)
        var venues = try container.nestedUnkeyedContainer(forKey: .venues)
        var outcomes: [VenueOutcome] = []
        while !venues.isAtEnd { outcomes.append(try VenueOutcome(from: try venues.superDecoder(), command: command)) }
        self.init(runID: try container.decodeIfPresent(String.self, forKey: .runID) ?? "", command: command,
                  fleet: try container.decodeIfPresent(FleetReference.self, forKey: .fleet) ?? FleetReference(path: "", venuesSHA256: ""),
                  startedAt: try container.decode(Date.self, forKey: .startedAt),
                  finishedAt: try container.decode(Date.self, forKey: .finishedAt),
                  interrupted: try container.decodeIfPresent(Bool.self, forKey: .interrupted) ?? false,
                  outcomes: outcomes, strict: try container.decodeIfPresent(Bool.self, forKey: .strict) ?? false,
                  problems: try container.decodeIfPresent([String].self, forKey: .problems) ?? [],
                  totals: try container.decodeIfPresent(FleetTotals.self, forKey: .totals) ?? FleetTotals(),
                  discovery: try container.decodeIfPresent(DiscoveryStatus.self, forKey: .discovery),
                  shard: try container.decodeIfPresent(ShardInfo.self, forKey: .shard))
        schema = version
        notifications = try container.decodeIfPresent([NotificationDelivery].self, forKey: .notifications)
    }

    /// Reads a saved report; `ReportError` when the file is no report or of a newer gwi-fleet.
    public static func read(_ path: String) throws -> RunReport {
        guard let data = FileManager.default.contents(atPath: path) else { throw ReportError.unreadable(path) }
        return try decode(data)
    }

    public static func decode(_ data: Data) throws(ReportError) -> RunReport {
        do {
            return try JSONCoding.decoder.decode(RunReport.self, from: data)
        } catch let error as ReportError {
            throw error
        } catch {
            throw .notAReport
        }
    }

    /// The few fields every report has, for scanning a directory of them without reading their venues.
    public struct Header: Sendable, Decodable {
        public var command: String
        public var runID: String?
        public var startedAt: Date?
        public var exitCode: Int?

        enum CodingKeys: String, CodingKey { case command, runID = "run_id", startedAt = "started_at", exitCode = "exit_code" }

        /// The header of a report file; nil for anything else.
        public static func read(_ path: String) -> Header? {
            FileManager.default.contents(atPath: path).flatMap { try? JSONCoding.decoder.decode(Header.self, from: $0) }
        }
    }

    /// The newest report of `command` in a directory (by its run's start), a merged one before its
    /// shards; nil when there is none.
    public static func newest(command: String, in directory: String) -> String? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix(command + "-") && $0.hasSuffix(".json") && !$0.contains("-shard") }
        let dated = names.compactMap { name -> (String, Date)? in
            let path = directory + "/" + name
            guard let header = Header.read(path), header.command == command, let started = header.startedAt else { return nil }
            return (path, started)
        }
        return dated.max { ($0.1, $0.0) < ($1.1, $1.0) }?.0
    }

    /// True for a report this tool saved: named exactly as `save` names it from the run id and the
    /// command it holds (a lowercase word), and readable as a whole report. Another tool's JSON
    /// in the directory, whatever its fields, is not one.
    public static func isReportFile(name: String, at path: String) -> Bool {
        guard name.hasSuffix(".json"), let header = Header.read(path), let runID = header.runID, isValidRunID(runID),
              header.command.wholeMatch(of: /[a-z]+/) != nil else { return false }
        let stem = "\(header.command)-\(runID)"
        guard name == stem + ".json" || name == stem + "-merged.json"
                || name.wholeMatch(of: /(.+)-shard[0-9]+of[0-9]+\.json/)?.output.1 == Substring(stem) else { return false }
        return (try? read(path)) != nil
    }

    /// Saves `<directory>/<command>-<run id>[-shard<i>of<n>|-merged].json` (0600, written durably)
    /// under a name no other run or shard takes, also in the same second; returns the path.
    @discardableResult
    public func save(in directory: String) throws -> String {
        try DurableFile.makePrivateDirectory(directory)
        let suffix = shard.map { $0.mergedFrom != nil ? "-merged" : "-shard\($0.index)of\($0.count)" } ?? ""
        let path = "\(directory)/\(command)-\(runID)\(suffix).json"
        // The same shard of the same run again (a Kubernetes retry of a failed index, same
        // GWI_RUN_ID) supersedes the attempt before it, and a merge made again (a retried merge
        // job) its merged report; a whole run's own report never replaces another's.
        if shard != nil { try DurableFile.write(Data(jsonText.utf8), to: path) } else { try DurableFile.writeNew(Data(jsonText.utf8), to: path) }
        return path
    }

    /// Writes the report again over the file `save` made (after sinks added to it).
    public func resave(at path: String) throws {
        try DurableFile.write(Data(jsonText.utf8), to: path)
    }
}

/// Why a file could not be read as a report.
public enum ReportError: Error, Sendable, Equatable, CustomStringConvertible {
    case notAReport
    case otherSchema(Int)
    case unreadable(String)

    public var description: String {
        switch self {
        case .notAReport: "not a gwi-fleet report"
        case .unreadable(let path): "\(path) cannot be read"
        case .otherSchema(let version) where version < RunReport.schemaVersion:
            "an older report (schema \(version); this gwi-fleet writes schema \(RunReport.schemaVersion))"
        case .otherSchema(let version):
            "a report of a newer gwi-fleet (schema \(version); this one reads up to \(RunReport.schemaVersion)): upgrade gwi-fleet"
        }
    }
}

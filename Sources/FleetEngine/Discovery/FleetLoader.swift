import Crypto
import FleetModel
import Foundation
import PostgresClient

/// How the venues of a run were found: fresh from discovery, or the last saved discovery because
/// this one failed (the run then fails at the end, whatever its venues did).
public struct DiscoveryStatus: Sendable, Equatable, Codable {
    public var source: String
    public var fresh: Bool
    /// When the venue list was read.
    public var asOf: Date
    public var venues: Int
    /// Why this run's discovery failed (stale lists only).
    public var error: String?
    /// Rows discovery found that are no venue (a NULL or invalid slug, a database another venue
    /// has): each left out and named; the other venues run.
    public var rejected: [String] = []

    public init(source: String, fresh: Bool, asOf: Date, venues: Int, error: String? = nil, rejected: [String] = []) {
        self.source = source
        self.fresh = fresh
        self.asOf = asOf
        self.venues = venues
        self.error = error
        self.rejected = rejected
    }

    enum CodingKeys: String, CodingKey { case source, status, asOf = "as_of", venues, error, rejected }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(source: try container.decode(String.self, forKey: .source),
                  fresh: try container.decode(String.self, forKey: .status) == "fresh",
                  asOf: try container.decode(Date.self, forKey: .asOf), venues: try container.decode(Int.self, forKey: .venues),
                  error: try container.decodeIfPresent(String.self, forKey: .error),
                  rejected: try container.decodeIfPresent([String].self, forKey: .rejected) ?? [])
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(source, forKey: .source)
        try container.encode(fresh ? "fresh" : "stale", forKey: .status)
        try container.encode(asOf, forKey: .asOf)
        try container.encode(venues, forKey: .venues)
        try container.encode(error, forKey: .error)
        if !rejected.isEmpty { try container.encode(rejected, forKey: .rejected) }
    }

    /// The problem a stale list puts on the run.
    public var problem: String? {
        fresh ? nil : "discovery failed (\(error ?? "unknown error")); used the venue list saved at \(Timestamp.iso8601(asOf))"
    }

    /// Every problem discovery puts on the run (exit 1): a stale list, each row left out.
    public var problems: [String] { (problem.map { [$0] } ?? []) + rejected }
}

/// A fleet ready to run: the file validated, discovery merged in, every connection string
/// accepted by libpq, no database claimed twice.
public struct LoadedFleet: Sendable {
    public var fleet: Fleet
    public var discovery: DiscoveryStatus?
}

/// Why a fleet could not be loaded; nothing has been touched. Exit code 2.
public enum FleetLoadError: Error, Sendable, CustomStringConvertible {
    case invalid(FleetFileError)
    case discoveryFailed(source: String, error: String)

    public var description: String {
        switch self {
        case .invalid(let error): error.description
        case .discoveryFailed(let source, let error):
            "discovery (\(source)) failed and no earlier discovery was saved, so no venue was touched: \(error)"
        }
    }
}

/// Reads the fleet file, runs discovery (falling back to the last saved one), and checks the
/// result before any venue is touched.
public enum FleetLoader {
    /// The last successful discovery, beside the reports, under a name of its own for each fleet
    /// file and discovery source: fleets sharing a reports directory never read each other's list.
    static func savedPath(_ fleet: Fleet) -> String {
        fleet.reportsDirectory + "/.discovery-" + String(savedIdentity(fleet).prefix(16)) + ".json"
    }

    /// What a saved list belongs to: the fleet file (absolute, symlinks resolved) and every setting
    /// that decides what discovery finds, as a SHA-256 (the URLs may hold a password).
    static func savedIdentity(_ fleet: Fleet) -> String {
        var parts = [URL(fileURLWithPath: fleet.path).standardizedFileURL.resolvingSymlinksInPath().path]
        if let registry = fleet.discovery?.registry { parts += ["registry", registry.url, registry.query] }
        if let databases = fleet.discovery?.databases {
            parts += ["databases", databases.url] + databases.include + ["exclude"] + databases.exclude
        }
        return SHA256.hash(data: Data(parts.joined(separator: "\u{0}").utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// `reportsDirectory` replaces the file's `reports.dir` (`--reports-dir`), where the saved
    /// discovery lives too.
    /// `timeout` (the command line's `--timeout`) bounds discovery too; else the fleet's default
    /// timeout, at most five minutes.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            reportsDirectory: String? = nil, timeout: Duration? = nil, now: Date = WallClock.now()) async throws(FleetLoadError) -> LoadedFleet {
        var fleet: Fleet
        do { fleet = try FleetFile.load(path: path, environment: environment) } catch { throw .invalid(error) }
        if let reportsDirectory { fleet.reportsDirectory = reportsDirectory }
        var status: DiscoveryStatus?
        if let settings = fleet.discovery {
            let entries: [VenueEntry]
            var rejected: [String] = []
            do {
                let timeout = min(timeout ?? fleet.defaults.timeout ?? Fleet.defaultTimeout, .seconds(300))
                let found = try await DiscoveredVenues(settings: settings, environment: environment, timeout: timeout).read()
                // No venue at all is a registry gone wrong, not a fleet with nothing to do: the
                // saved list is used, as for a discovery that failed.
                if found.entries.isEmpty {
                    let left = found.problems.isEmpty ? "" : " (\(found.problems.count) rows left out)"
                    throw FleetEngineError.refused(VenueError("it returned no venues\(left)"))
                }
                entries = found.entries
                rejected = found.problems
                if let shrink = shrinkage(to: entries, from: loadSaved(fleet), maxPercent: settings.maxShrinkPercent) { rejected.append(shrink) }
                status = DiscoveryStatus(source: settings.source, fresh: true, asOf: now, venues: entries.count)
                save(entries, of: fleet, at: now, source: settings.source)
            } catch {
                let reason = ConnectionInfo.redacting("\(error)")
                guard let saved = loadSaved(fleet) else { throw .discoveryFailed(source: settings.source, error: reason) }
                entries = saved.entries
                status = DiscoveryStatus(source: settings.source, fresh: false, asOf: saved.asOf, venues: entries.count, error: reason)
            }
            let (merged, problems, left) = merging(entries, into: fleet)
            if !problems.isEmpty { throw .invalid(.invalid(path: fleet.path, problems: problems)) }
            fleet = merged
            status?.rejected = rejected + left
            status?.venues = entries.count - left.count
        }
        let problems = FleetPreflight.problems(in: fleet)
        if !problems.isEmpty { throw .invalid(.invalid(path: fleet.path, problems: problems)) }
        return LoadedFleet(fleet: fleet, discovery: status)
    }

    /// The discovered entries merged into the fleet file's venues. A discovered row that is no
    /// venue (an invalid slug, a database another venue has, a URL libpq refuses) is a problem of
    /// that row alone: it is left out and named, and the rest of the fleet runs. Problems of the
    /// fleet file's own venues stay problems of the file.
    static func merging(_ entries: [VenueEntry], into fleet: Fleet) -> (Fleet, [FleetFileProblem], rejected: [String]) {
        let listed = Set(fleet.entries.map(\.slug))
        var kept = entries
        var rejected: [String] = []
        while true {
            let (merged, problems) = fleet.adding(discovered: kept)
            let all = problems.isEmpty ? FleetPreflight.problems(in: merged) : problems
            let ofRows = all.filter { problem in problem.venue.map { !listed.contains($0) && kept.contains(where: { $0.slug == problem.venue }) } ?? false }
            guard !ofRows.isEmpty else { return (merged, all, rejected) }
            let bad = Set(ofRows.compactMap(\.venue))
            for slug in bad.sorted() {
                let origin = kept.first { $0.slug == slug }?.origin ?? "discovery"
                let reasons = ofRows.filter { $0.venue == slug }.map { "\($0.key.map { "`\($0)`: " } ?? "")\($0.message)" }
                rejected.append("discovered venue `\(slug)` (\(origin)) left out: " + reasons.joined(separator: "; "))
            }
            kept.removeAll { bad.contains($0.slug) }
        }
    }

    struct Saved: Codable {
        struct Entry: Codable {
            var slug: String
            var database: String?
            var enabled: Bool?
            var tags: [String]?
            var kind: String?
            var url: String?
            var directURL: String?
            var origin: String
            enum CodingKeys: String, CodingKey { case slug, database, enabled, tags, kind, url, origin, directURL = "direct_url" }
        }
        var asOf: Date
        var source: String
        /// The fleet file whose discovery this is, and `savedIdentity` of it.
        var fleetFile: String?
        var identity: String?
        var entries: [Entry]
        enum CodingKeys: String, CodingKey { case asOf = "as_of", source, fleetFile = "fleet_file", identity, entries }
    }

    /// Saves what discovery found (0600, durably). URLs that carry a password are left out: the
    /// saved list then falls back to the fleet's `url`.
    static func save(_ entries: [VenueEntry], of fleet: Fleet, at date: Date, source: String) {
        let keep = { (url: String?) -> String? in
            guard let url, let info = try? ConnectionInfo(parsing: url), info.password == nil else { return nil }
            return url
        }
        let saved = Saved(asOf: date, source: source, fleetFile: fleet.path, identity: savedIdentity(fleet), entries: entries.map {
            Saved.Entry(slug: $0.slug, database: $0.database, enabled: $0.enabled, tags: $0.tags, kind: $0.kind?.rawValue,
                        url: keep($0.settings.url), directURL: keep($0.settings.directURL), origin: $0.origin)
        })
        let data = Data(JSONCoding.text(saved).utf8)
        try? DurableFile.makePrivateDirectory(fleet.reportsDirectory)
        try? DurableFile.write(data, to: savedPath(fleet))
    }

    /// A venue list that lost more than `maxPercent` of the saved one's venues: a problem naming the
    /// venues gone (said once: the new list is saved). Venues dropped from a registry stop being backed up.
    static func shrinkage(to entries: [VenueEntry], from saved: (entries: [VenueEntry], asOf: Date)?,
                          maxPercent: Double = DiscoverySettings.defaultMaxShrinkPercent) -> String? {
        guard let saved, !saved.entries.isEmpty else { return nil }
        let now = Set(entries.map(\.slug))
        let gone = saved.entries.map(\.slug).filter { !now.contains($0) }
        guard !gone.isEmpty, Double(gone.count) * 100 > Double(saved.entries.count) * maxPercent else { return nil }
        let names = gone.prefix(20).joined(separator: ", ") + (gone.count > 20 ? " and \(gone.count - 20) more" : "")
        let limit = String(format: "%g", maxPercent)
        return "discovery found \(entries.count) venues, \(gone.count) of the \(saved.entries.count) saved at \(Timestamp.iso8601(saved.asOf)) are gone (more than discover.max_shrink, \(limit) %): \(names)"
    }

    static func loadSaved(_ fleet: Fleet) -> (entries: [VenueEntry], asOf: Date)? {
        guard let data = FileManager.default.contents(atPath: savedPath(fleet)),
              let saved = try? BackupCatalog.decoder.decode(Saved.self, from: data),
              saved.identity == savedIdentity(fleet) else { return nil }
        let entries = saved.entries.map { entry in
            var settings = VenueSettings(url: entry.url, directURL: entry.directURL)
            settings.urlWritten = entry.url != nil
            return VenueEntry(slug: entry.slug, database: entry.database, tags: entry.tags, enabled: entry.enabled,
                              kind: entry.kind.flatMap(VenueKind.init), settings: settings, origin: entry.origin + " (saved)")
        }
        return (entries, saved.asOf)
    }
}

import FleetModel
import Foundation
import Logging

/// A request resolved once, before any venue is touched: the fleet file found, validated and
/// discovered; `--jobs` and `--timeout` applied (each venue's `timeout` is the effective one, so
/// operations, discovery and coverage all read the same value); the selection, the shard and the
/// master database's skip decided.
public struct ResolvedRequest: Sendable {
    public var request: FleetRequest
    public var fleet: Fleet
    /// The selected venues of this run, in fleet order (disabled and skipped ones included: they are reported).
    public var venues: [Venue]
    public var discovery: DiscoveryStatus?
    /// This run's part of a split run, with every venue of the whole run.
    public var shard: RunReport.ShardInfo?

    /// Resolves `request`; an invalid fleet file, a failed discovery with no saved list, an
    /// unknown venue or tag, or a bad shard is a `RequestError` that says which.
    public static func resolve(_ request: FleetRequest, environment: [String: String] = ProcessInfo.processInfo.environment) async throws(RequestError) -> ResolvedRequest {
        let path = try FleetPath.resolve(request.fleetPath, environment: environment)
        let loaded: LoadedFleet
        do {
            loaded = try await FleetLoader.load(path: path, environment: environment,
                                                reportsDirectory: request.reportsDirectory.map { URL(fileURLWithPath: $0).standardizedFileURL.path },
                                                timeout: request.timeout)
        } catch { throw RequestError(error.description) }
        var fleet = loaded.fleet
        if let jobs = request.jobs { fleet.jobs = jobs }
        if let timeout = request.timeout { for index in fleet.venues.indices { fleet.venues[index].timeout = timeout } }

        var slugs = request.venues
        if let name = request.backupName, slugs.isEmpty, request.tags.isEmpty {
            guard let owner = fleet.venues.filter({ name.hasPrefix($0.database + "-") }).max(by: { $0.database.count < $1.database.count }) else {
                throw RequestError("backup \(name) belongs to no venue of the fleet (a backup's name starts with its venue's database and `-`); name the venue with --venue")
            }
            slugs = [owner.slug]
        }
        var venues: [Venue]
        do { venues = try fleet.selecting(slugs: slugs, tags: request.tags) } catch { throw RequestError(error.description) }
        var shard: RunReport.ShardInfo?
        if request.applyShard, let split = try resolveShard(request, environment: environment) {
            shard = RunReport.ShardInfo(index: split.index, count: split.count, allVenues: venues.map(\.slug))
            venues = venues.filter { split.contains($0.slug) }
        }
        if request.leavesMasterOut {
            for index in venues.indices where venues[index].kind == .master && !request.venues.contains(venues[index].slug) {
                venues[index].skipReason = "master database: \(request.command) leaves it out unless named with --venue"
            }
        }
        return ResolvedRequest(request: request, fleet: fleet, venues: venues, discovery: loaded.discovery, shard: shard)
    }

    /// `--shard`, or `--shard-count` with `$JOB_COMPLETION_INDEX`; nil for a whole run.
    public static func resolveShard(_ request: FleetRequest, environment: [String: String]) throws(RequestError) -> Shard? {
        if let text = request.shard {
            if request.shardCount != nil { throw RequestError("give --shard INDEX/COUNT or --shard-count N, not both") }
            do { return try Shard.parse(text) } catch { throw RequestError(error.description) }
        }
        guard let count = request.shardCount else { return nil }
        guard let text = environment["JOB_COMPLETION_INDEX"], let index = Int(text) else {
            throw RequestError("--shard-count needs the shard index in $JOB_COMPLETION_INDEX (or give --shard INDEX/COUNT)")
        }
        do { return try Shard(index: index, count: count) } catch { throw RequestError(error.description) }
    }

    /// The fleet's own sinks (notifications, metrics) after `extra` (the terminal's).
    public func sinks(logger: Logger, extra: [any RunSink]) -> [any RunSink] {
        var sinks = extra
        if !fleet.notify.isEmpty {
            sinks.append(NotificationSink(targets: fleet.notify, reportsDirectory: fleet.reportsDirectory, logger: logger))
        }
        if fleet.metricsTextfile != nil || fleet.metricsPushgateway != nil {
            sinks.append(MetricsSink(textfile: fleet.metricsTextfile, pushgateway: fleet.metricsPushgateway, scope: metricsScope,
                                     venues: venues, policy: fleet.policy, logger: logger))
        }
        return sinks
    }

    /// What part of the fleet this run covers, for its metrics: a `--venue` or `--tag` run is
    /// partial (in a split run too), a shard is its shard, anything else the whole fleet.
    public var metricsScope: MetricsSink.Scope {
        if !request.venues.isEmpty || !request.tags.isEmpty { return .partial }
        if let shard { return .shard(index: shard.index, count: shard.count) }
        return .fleet
    }

    /// The coverage check of `check`, `backup` and `sweep`: databases no venue covers, and
    /// leftovers. In a split run only shard 0 checks coverage, so the merged report has it once.
    public var coverage: @Sendable ([VenueOutcome]) async -> FleetRun.Conclusion {
        let coverage = Coverage(fleet: fleet)
        guard (shard?.index ?? 0) == 0 else { return { _ in FleetRun.Conclusion() } }
        return { _ in await coverage.conclusion() }
    }
}

import Foundation

/// A validated fleet file.
public struct Fleet: Sendable, Equatable {
    public static let defaultJobs = 4
    public static let maximumJobs = 1024
    public static let defaultTimeout = Duration.seconds(30 * 60)

    /// Absolute path of the fleet file.
    public var path: String
    public var venues: [Venue]
    /// Venues worked on at once.
    public var jobs: Int
    /// Absolute directory where every command saves its JSON report.
    public var reportsDirectory: String
    /// Where more venues are found (`discover:`); nil when the list is all there is.
    public var discovery: DiscoverySettings?
    /// Databases that match the coverage patterns but are deliberately in no venue (`ignore:`):
    /// names or LIKE patterns.
    public var ignore: [String]
    /// Where each run's outcome is sent (`notify:`).
    public var notify: [NotifyTarget] = []
    /// Reports older than this many days are deleted after each run (`reports.keep_days`).
    public var reportsKeepDays = Fleet.defaultReportsKeepDays
    public static let defaultReportsKeepDays = 90
    /// What "healthy" means for `status` (`policy:`).
    public var policy = HealthPolicy()
    /// node_exporter's textfile collector file (`metrics.textfile`), absolute.
    public var metricsTextfile: String?
    /// A Prometheus Pushgateway to push the same metrics to (`metrics.pushgateway`).
    public var metricsPushgateway: String?
    /// What the file said, kept so discovered venues resolve exactly as listed ones do.
    public var defaults: VenueSettings
    public var entries: [VenueEntry]

    public init(path: String, venues: [Venue], jobs: Int = Fleet.defaultJobs, reportsDirectory: String,
                discovery: DiscoverySettings? = nil, ignore: [String] = [], defaults: VenueSettings = VenueSettings(),
                entries: [VenueEntry] = []) {
        self.path = path
        self.venues = venues
        self.jobs = jobs
        self.reportsDirectory = reportsDirectory
        self.discovery = discovery
        self.ignore = ignore
        self.defaults = defaults
        self.entries = entries
    }

    /// The LIKE patterns of databases that should each belong to a venue (coverage).
    public var coveragePatterns: [String] { discovery?.databases?.include ?? DiscoverySettings.ServerDatabases.defaultInclude }

    /// The venues a command works on: all, or those named by `--venue` / carrying a `--tag`
    /// (a venue matching either is in). Disabled venues stay in the list, to be reported skipped.
    public func selecting(slugs: [String], tags: [String]) throws(SelectionError) -> [Venue] {
        let known = Set(venues.map(\.slug))
        let unknown = slugs.filter { !known.contains($0) }
        if !unknown.isEmpty { throw .unknownVenues(unknown, known: venues.map(\.slug)) }
        let unknownTags = tags.filter { tag in !venues.contains { $0.tags.contains(tag) } }
        if !unknownTags.isEmpty { throw .unknownTags(unknownTags) }
        if slugs.isEmpty && tags.isEmpty { return venues }
        return venues.filter { venue in
            slugs.contains(venue.slug) || venue.tags.contains { tags.contains($0) }
        }
    }
}

import ArgumentParser
import FleetEngine
import FleetModel
import Foundation

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check the fleet file and print the resolved venues (passwords redacted).",
        discussion: "Example: gwi-fleet validate --fleet /etc/gwi-fleet/fleet.yaml  (or --shard-count 4 to see how a split run divides the venues)")

    @OptionGroup var fileOptions: FleetFileOptions
    @OptionGroup var selectionOptions: SelectionOptions
    @OptionGroup var shardOptions: ShardOptions
    var options: FleetOptions { FleetOptions(fileOptions, selection: selectionOptions, shard: shardOptions) }

    func run() async throws {
        // --shard-count alone shows how the fleet splits; --shard shows one part.
        let planning = options.shardCount != nil && options.shard == nil
        let session = try await CommandSession(options: options, command: "validate", applyingShard: !planning)
        let count = planning ? options.shardCount ?? 1 : nil
        if let count, !(1...10_000).contains(count) { throw ValidationError("--shard-count must be between 1 and 10000") }
        let assignment = count.map { count in session.venues.map { Shard.assign($0.slug, count: count) } }
        if options.json {
            let venues = session.venues.enumerated().map { position, venue in
                ValidateJSON.Venue(shard: assignment?[position], slug: venue.slug, database: venue.database, kind: venue.kind.rawValue,
                                   origin: venue.origin, enabled: venue.enabled, tags: venue.tags, url: venue.redactedURL,
                                   directURL: venue.redactedDirectURL, passwordEnv: venue.passwordEnv,
                                   timeout: FleetDuration.format(venue.timeout),
                                   backupDir: venue.backup.directory + "/" + venue.slug, backupFormat: venue.backup.format.rawValue)
            }
            let shards = count.map { count in
                (0..<count).map { index in ValidateJSON.Shard(index: index, venues: assignment?.filter { $0 == index }.count ?? 0) }
            }
            Terminal.out(JSONCoding.text(ValidateJSON(fleet: session.fleet.path, jobs: session.fleet.jobs,
                                                      reportsDir: session.fleet.reportsDirectory, discovery: session.discovery,
                                                      shards: shards, venues: venues)), terminator: "")
            return
        }
        Terminal.out(Terminal.table(
            headers: (assignment == nil ? [] : ["SHARD"]) + ["VENUE", "DATABASE", "KIND", "FROM", "ENABLED", "TAGS", "TIMEOUT", "BACKUP", "URL", "DIRECT URL"],
            rows: session.venues.enumerated().map { position, venue in
                (assignment.map { [String($0[position])] } ?? [])
                + [venue.slug, venue.database, venue.kind.rawValue, venue.origin, venue.enabled ? "yes" : "no", venue.tags.joined(separator: ","),
                 FleetDuration.format(venue.timeout),
                 "\(venue.backup.format.rawValue) → \(venue.backup.directory)/\(venue.slug)",
                 venue.redactedURL, venue.directURL == venue.url ? "(url)" : venue.redactedDirectURL]
            }))
        let enabled = session.venues.filter(\.enabled).count
        if let count, let assignment {
            let sizes = (0..<count).map { index in assignment.filter { $0 == index }.count }
            let ideal = Double(session.venues.count) / Double(count)
            let worst = sizes.map { abs(Double($0) - ideal) / max(ideal, 1) }.max() ?? 0
            Terminal.out("shards: " + sizes.enumerated().map { "\($0.offset): \($0.element)" }.joined(separator: ", ")
                         + String(format: " (ideal %.1f, furthest %.1f%% off)", ideal, worst * 100))
        }
        if let discovery = session.discovery {
            Terminal.out("discovery (\(discovery.source)): \(discovery.venues) venues, \(discovery.fresh ? "read now" : "STALE, saved \(Timestamp.iso8601(discovery.asOf))")")
        }
        if Terminal.stderrIsTerminal && Terminal.stdoutIsTerminal {
            for problem in session.discovery?.problems ?? [] { Terminal.out("problem: \(problem)") }
        }
        Terminal.out("\(session.fleet.path): valid, \(session.venues.count) venues (\(enabled) enabled), jobs \(session.fleet.jobs), reports → \(session.fleet.reportsDirectory)")
        // A venue list from an old discovery is not what the registry says now, and a row left out
        // is a venue not backed up: not a clean bill.
        if !(session.discovery?.problems.isEmpty ?? true) { throw ExitCode(ExitCodes.venueFailed) }
    }
}

struct CheckCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Per venue: connect, server version, database size, and whether the local pg_dump can dump it.",
        discussion: "Example: gwi-fleet check --tag west --jobs 8")

    @OptionGroup var venueOptions: VenueCommandOptions
    var options: FleetOptions { venueOptions.options }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        let operation = CheckOperation(tools: try await locateTools())
        // The servers' coverage, and `pgbackrest check` of each stanza the venues' `pitr:` names.
        let (coverage, archives) = (session.resolved.coverage, ArchiveCheck(venues: session.venues))
        return RunPlan(operation: { try await operation.run($0) }, conclude: { outcomes in
            let (covered, archived) = (await coverage(outcomes), await archives.conclusion())
            return FleetRun.Conclusion(totals: covered.totals.adding(archived.totals), problems: covered.problems + archived.problems)
        })
    }
}

struct QueryCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run one read-only statement on every venue and merge the rows, with a leading venue column.",
        discussion: "Example: gwi-fleet query 'SELECT count(*) AS orders FROM \"Order\"' --format csv")

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case table, csv, json }

    @Argument(help: "One SQL statement; it runs inside BEGIN READ ONLY and is rolled back.")
    var sql: String

    @Option(name: .long, help: "How the merged rows are printed: table, csv or json.")
    var format: OutputFormat = .table

    @Option(name: .long, help: "SET ROLE to this role first (a least-privileged one: read-only still allows pg_read_file or COPY TO PROGRAM to a superuser).")
    var role: String?

    @OptionGroup var venueOptions: VenueCommandOptions
    var options: FleetOptions { venueOptions.options }

    static var leavesMasterOut: Bool { true }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        let operation = QueryOperation(sql: sql, role: role)
        return RunPlan(operation: { try await operation.run($0) })
    }

    func present(_ report: RunReport, savedAt path: String?, session: CommandSession) throws -> Never {
        if options.json { session.finish(report, savedAt: path) }
        Terminal.out(QueryRendering.render(report, format: format))
        // The rows are the output; the per-venue status goes to stderr so stdout stays parseable.
        Terminal.error(ReportRendering.render(report, format: .table, savedAt: path), level: .info)
        Foundation.exit(report.exitCode)
    }
}

struct BackupCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Dump every venue with row counts from the same snapshot; write dump, then manifest.",
        discussion: "Example: gwi-fleet backup --jobs 8 --quiet   (nightly, from cron or a systemd timer)")

    @Option(name: .long, help: "custom (pg_dump -Fc) or plain (SQL); overrides backup.format.")
    var format: BackupFormat?

    @Flag(name: .long, help: "Apply the retention policy to each venue right after its successful backup.")
    var prune = false

    @OptionGroup var venueOptions: VenueCommandOptions
    var options: FleetOptions { venueOptions.options }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        let operation = BackupOperation(tools: try await locateTools(), formatOverride: format, prune: prune)
        return RunPlan(operation: { try await operation.run($0) }, conclude: session.resolved.coverage, audited: prune)
    }
}

extension BackupFormat: ExpressibleByArgument {}

/// pg_dump is needed before any venue is touched; without it the run stops with exit 2.
func locateTools() async throws -> PgTools {
    do {
        return try await PgTools.locate()
    } catch {
        Terminal.error("\(error)")
        throw ExitCode(ExitCodes.usage)
    }
}

/// Merges the rows of `query` from every venue into one table with a leading `venue` column.
enum QueryRendering {
    static func render(_ report: RunReport, format: QueryCommand.OutputFormat) -> String {
        let ok = report.outcomes.filter { $0.status == .ok }
        var columns: [String] = []
        var rows: [[String?]] = []
        for outcome in ok {
            guard let result = outcome.result(as: QueryRowsResult.self) else { continue }
            if columns.isEmpty { columns = result.columns }
            rows += result.rows.map { [outcome.slug] + $0 }
        }
        let headers = ["venue"] + columns
        switch format {
        case .table:
            return Terminal.table(headers: headers, rows: rows.map { $0.map { $0 ?? "NULL" } })
        case .csv:
            return ([headers.map(csvField)] + rows.map { $0.map { $0.map(csvField) ?? "" } })
                .map { $0.joined(separator: ",") }.joined(separator: "\n")
        case .json:
            // One object per row, keys as the query named its columns (a dictionary: JSON objects have no order).
            return JSONCoding.text(rows.map { row in Dictionary(zip(headers, row), uniquingKeysWith: { first, _ in first }) })
        }
    }

    static func csvField(_ value: String) -> String { TableText.csvField(value) }
}

/// `validate --json`.
struct ValidateJSON: Encodable {
    struct Venue: Encodable {
        var shard: Int?
        var slug, database, kind, origin: String
        var enabled: Bool
        var tags: [String]
        var url, directURL: String
        var passwordEnv: String?
        var timeout, backupDir, backupFormat: String

        enum CodingKeys: String, CodingKey {
            case shard, slug, database, kind, origin, enabled, tags, url, directURL = "direct_url", passwordEnv = "password_env"
            case timeout, backupDir = "backup_dir", backupFormat = "backup_format"
        }
    }
    struct Shard: Encodable { var index, venues: Int }
    var fleet: String
    var jobs: Int
    var reportsDir: String
    var discovery: DiscoveryStatus?
    var shards: [Shard]?
    var venues: [Venue]

    enum CodingKeys: String, CodingKey { case fleet, jobs, reportsDir = "reports_dir", discovery, shards, venues }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(fleet, forKey: .fleet)
        try container.encode(jobs, forKey: .jobs)
        try container.encode(reportsDir, forKey: .reportsDir)
        try container.encode(discovery, forKey: .discovery)
        try container.encode(shards, forKey: .shards)
        try container.encode(venues, forKey: .venues)
    }
}

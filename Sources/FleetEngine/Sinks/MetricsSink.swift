import FleetBasics
import FleetModel
import Foundation
import Logging

/// Prometheus metrics after every run: node_exporter's textfile collector file, written
/// atomically (a temporary name in the same directory, then rename), keeping the last known values
/// of venues this run did not touch; and, where configured, this run's series pushed to a
/// Pushgateway group of its own (command, scope and, outside a split run, host), so no run's push
/// erases another's.
public struct MetricsSink: RunSink {
    /// Which part of the fleet a run covered: the `scope` label of its run-level series and of its
    /// Pushgateway group, so a partial run's figures never stand in for the whole fleet's.
    public enum Scope: Sendable, Equatable {
        /// Every venue of the fleet.
        case fleet
        /// One part of a split run (`--shard`, `--shard-count`).
        case shard(index: Int, count: Int)
        /// Venues chosen by `--venue` or `--tag` (in a split run too).
        case partial

        /// `fleet`, `shard-2of4`, `partial`.
        public var label: String {
            switch self {
            case .fleet: "fleet"
            case .shard(let index, let count): "shard-\(index)of\(count)"
            case .partial: "partial"
            }
        }
    }

    let textfile: String?
    let pushgateway: String?
    let scope: Scope
    /// The `instance` of the Pushgateway group outside a split run (this host's name); a split run's
    /// pods come and go, its shard names the group alone.
    let instance: String
    /// The fleet's venues by slug: their catalogs give each venue's own times and its verdict.
    let venues: [String: Venue]
    let policy: HealthPolicy
    let logger: Logger

    public init(textfile: String?, pushgateway: String?, scope: Scope = .fleet, instance: String = ProcessInfo.processInfo.hostName,
                venues: [Venue] = [], policy: HealthPolicy = HealthPolicy(), logger: Logger = RunContext.silent) {
        self.textfile = textfile
        self.pushgateway = pushgateway
        self.scope = scope
        self.instance = instance
        self.venues = Dictionary(venues.map { ($0.slug, $0) }, uniquingKeysWith: { first, _ in first })
        self.policy = policy
        self.logger = logger
    }

    /// Every series gwi-fleet writes, in the file's order, with its help text.
    static let families: [(name: String, help: String)] = [
        ("gwi_fleet_build_info", "The gwi-fleet that wrote these series (label version); always 1."),
        ("gwi_fleet_venue_verdict", "The venue's status verdict (label verdict, as gwi-fleet status judges it without the archive rule) when a run last touched it; always 1."),
        ("gwi_fleet_backup_last_success_timestamp_seconds", "Unix time of the venue's latest complete backup (its restore point)."),
        ("gwi_fleet_backup_last_attempt_timestamp_seconds", "Unix time the venue's last backup attempt finished."),
        ("gwi_fleet_backup_last_failure_timestamp_seconds", "Unix time the venue's last failed backup attempt finished."),
        ("gwi_fleet_backup_last_status", "1 when the venue's last backup attempt succeeded, 0 when it failed."),
        ("gwi_fleet_backup_size_bytes", "Size of the venue's last successful backup as stored."),
        ("gwi_fleet_backup_duration_seconds", "How long the venue's last successful backup took."),
        ("gwi_fleet_backup_rows", "Rows in the venue's last successful backup (exact counts at its snapshot)."),
        ("gwi_fleet_verify_last_success_timestamp_seconds", "Unix time of the venue's last successful restore test."),
        ("gwi_fleet_verify_last_failure_timestamp_seconds", "Unix time of the venue's last failed verify."),
        ("gwi_fleet_verify_last_status", "1 when the venue's last verify succeeded, 0 when it failed."),
        ("gwi_fleet_offsite_last_success_timestamp_seconds", "Unix time the venue's last off-site copy was verified."),
        ("gwi_fleet_database_size_bytes", "Size of the venue's database when last measured."),
        ("gwi_fleet_pitr_window_start_seconds", "Unix time of the first moment a point-in-time restore of the venue can reach (as check last read it)."),
        ("gwi_fleet_pitr_window_end_seconds", "Unix time of the last moment a point-in-time restore of the venue can reach: its server's last archived WAL (as check last read it)."),
        ("gwi_fleet_pitr_archive_lag_seconds", "Seconds from the venue's server's last archived WAL to when check read it."),
        ("gwi_fleet_run_last_timestamp_seconds", "Unix time the last run of the command (of this scope) finished."),
        ("gwi_fleet_run_duration_seconds", "How long the last run of the command (of this scope) took."),
        ("gwi_fleet_run_exit_code", "Exit code of the last run of the command (of this scope): 0 ok, 1 a venue failed or a fleet-level problem, 130 interrupted."),
        ("gwi_fleet_run_problems", "Fleet-level problems of the last run of the command (of this scope): uncovered databases, a stale discovery, a report not saved."),
        ("gwi_fleet_run_venues", "Venues of the last run of the command (of this scope), by status."),
    ]

    /// Families whose series carry the run's `command` and `scope`.
    static let runFamilies: Set<String> = ["gwi_fleet_run_last_timestamp_seconds", "gwi_fleet_run_duration_seconds",
                                           "gwi_fleet_run_exit_code", "gwi_fleet_run_problems", "gwi_fleet_run_venues"]

    public func receive(_ event: RunEvent) async {
        guard case .finished(let report, _) = event else { return }
        let (venues, policy, scope) = (self.venues, self.policy, self.scope)
        let fresh = await BlockingExecutor.shared.run { Self.series(of: report, scope: scope, venues: venues, policy: policy) }
        if let textfile {
            do {
                let text = Self.render(Self.merge(fresh, into: Self.read(textfile)))
                // The collector's directory belongs to node_exporter's setup: created if missing, never re-permissioned.
                try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: textfile).deletingLastPathComponent().path,
                                                        withIntermediateDirectories: true)
                try DurableFile.write(Data(text.utf8), to: textfile)
                chmod(textfile, 0o644)  // node_exporter runs as its own user
            } catch {
                logger.warning("metrics not written", metadata: ["file": .string(textfile), "error": .string("\(error)")])
            }
        }
        if let pushgateway {
            // A PUT replaces its group: only this run's series, in a group no other command or scope shares.
            if let failure = await WebhookClient().send(pushgateway + Self.groupPath(command: report.command, scope: scope, instance: instance),
                                                        method: "PUT", body: Data(Self.render(fresh).utf8),
                                                        contentType: "text/plain; version=0.0.4") {
                logger.warning("metrics not pushed", metadata: ["error": .string(failure)])
            }
        }
    }

    /// `/metrics/job/gwi_fleet/command/<command>/scope/<scope>[/instance@base64/<host>]`: the
    /// Pushgateway group of a run. Each shard, each host's whole-fleet run and each host's partial
    /// runs of a command keep a group of their own, so every venue's series survive any mix of runs.
    static func groupPath(command: String, scope: Scope, instance: String) -> String {
        var path = "/metrics/job/gwi_fleet/command/\(command)/scope/\(scope.label)"
        if case .shard = scope { return path }
        // base64url: a host name may hold what a URL path cannot.
        let encoded = Data(instance.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        path += "/instance@base64/" + (encoded.isEmpty ? "=" : encoded)
        return path
    }

    /// The series this report sets: `name{labels}` → value. Each venue's times are its own (from its
    /// catalog where the fleet knows the venue), so a venue whose backup failed still shows its last
    /// complete one.
    static func series(of report: RunReport, scope: Scope, venues: [String: Venue], policy: HealthPolicy, now: Date = WallClock.now()) -> [String: String] {
        var result: [String: String] = [:]
        let finished = seconds(report.finishedAt)
        func set(_ name: String, _ labels: [(String, String)], _ value: String) {
            result[key(name, labels)] = value
        }
        set("gwi_fleet_build_info", [("version", FleetVersion.number)], "1")
        let judge = PolicyJudge(policy: policy)
        for outcome in report.outcomes where outcome.status != .skipped {
            let venue = [("venue", outcome.slug)]
            let ok = outcome.status == .ok || outcome.status == .warning
            let known = venues[outcome.slug]
            let catalog = known.map(BackupCatalog.init(venue:))
            let entries = catalog?.entries(now: now) ?? []
            let attempt = catalog?.lastAttempt()
            switch report.command {
            case "backup":
                set("gwi_fleet_backup_last_attempt_timestamp_seconds", venue, attempt.map { seconds($0.at) } ?? finished)
                set("gwi_fleet_backup_last_status", venue, ok ? "1" : "0")
                if !ok { set("gwi_fleet_backup_last_failure_timestamp_seconds", venue, attempt.map { seconds($0.at) } ?? finished) }
                if let latest = entries.latestRestorePoint {
                    set("gwi_fleet_backup_last_success_timestamp_seconds", venue, seconds(latest.date))
                } else if ok {
                    set("gwi_fleet_backup_last_success_timestamp_seconds", venue, finished)
                }
                if ok {
                    if let backup = outcome.result(as: BackupResult.self) {
                        set("gwi_fleet_backup_size_bytes", venue, String(backup.bytes))
                        set("gwi_fleet_backup_rows", venue, String(backup.rows))
                    }
                    set("gwi_fleet_backup_duration_seconds", venue, String(format: "%.3f", Double(outcome.durationMilliseconds) / 1000))
                }
                if let offsite = attempt?.offsiteVerifiedAt {
                    set("gwi_fleet_offsite_last_success_timestamp_seconds", venue, seconds(offsite))
                } else if outcome.result(as: BackupResult.self)?.offsite?.isVerified == true {
                    set("gwi_fleet_offsite_last_success_timestamp_seconds", venue, finished)
                }
            case "verify":
                let tested = outcome.result(as: VerifyResult.self)?.backups.map(\.verifiedAt).max()
                set("gwi_fleet_verify_last_status", venue, ok ? "1" : "0")
                if !ok { set("gwi_fleet_verify_last_failure_timestamp_seconds", venue, tested.map(seconds) ?? finished) }
                if let verified = PolicyJudge.lastVerified(entries) {
                    set("gwi_fleet_verify_last_success_timestamp_seconds", venue, seconds(verified))
                } else if ok {
                    set("gwi_fleet_verify_last_success_timestamp_seconds", venue, tested.map(seconds) ?? finished)
                }
            case "upload" where ok:
                set("gwi_fleet_offsite_last_success_timestamp_seconds", venue, attempt?.offsiteVerifiedAt.map(seconds) ?? finished)
            default:
                break
            }
            if ok, let bytes = (outcome.result as? any DatabaseSizeResult)?.databaseBytes {
                set("gwi_fleet_database_size_bytes", venue, String(bytes))
            }
            // The verdict `status` gives, but for the archive rule: only `check` reads the
            // windows, and the gwi_fleet_pitr_* series carry them.
            if let known, known.enabled {
                let breach = judge.breaches(of: known, entries: entries, attempt: attempt, now: now).first
                set("gwi_fleet_venue_verdict", venue + [("verdict", breach.map { $0.rule.rawValue } ?? FleetStatus.Verdict.ok.rawValue)], "1")
            }
        }
        // `check` reads each pitr: venue's window; one it could not read keeps its last known values.
        for (slug, window) in report.totals.pitr ?? [:] where window.error == nil {
            let venue = [("venue", slug)]
            if let earliest = window.earliest { set("gwi_fleet_pitr_window_start_seconds", venue, seconds(earliest)) }
            if let latest = window.latest { set("gwi_fleet_pitr_window_end_seconds", venue, seconds(latest)) }
            if let lag = window.archiveLagSeconds { set("gwi_fleet_pitr_archive_lag_seconds", venue, String(format: "%.3f", lag)) }
        }
        let run = [("command", report.command), ("scope", scope.label)]
        set("gwi_fleet_run_last_timestamp_seconds", run, finished)
        set("gwi_fleet_run_duration_seconds", run, String(format: "%.3f", report.finishedAt.timeIntervalSince(report.startedAt)))
        set("gwi_fleet_run_exit_code", run, String(report.exitCode))
        set("gwi_fleet_run_problems", run, String(report.problems.count))
        for status in [VenueStatus.ok, .warning, .failed, .skipped] {
            set("gwi_fleet_run_venues", run + [("status", status.rawValue)], String(report.count(status)))
        }
        return result
    }

    /// `name{a="x",b="y"}`, labels in the given order.
    static func key(_ name: String, _ labels: [(String, String)]) -> String {
        name + "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// The textfile's series with this run's set over them. A venue has one verdict and the file
    /// one build: their earlier series go.
    static func merge(_ fresh: [String: String], into known: [String: String]) -> [String: String] {
        var result = known
        for key in fresh.keys where key.hasPrefix("gwi_fleet_venue_verdict{") || key.hasPrefix("gwi_fleet_build_info{") {
            let prefix = key.hasPrefix("gwi_fleet_build_info{") ? "gwi_fleet_build_info{" : String(key[...key.range(of: "\",")!.lowerBound])
            for old in result.keys where old.hasPrefix(prefix) { result[old] = nil }
        }
        for (key, value) in fresh { result[key] = value }
        return result
    }

    /// The series of an existing textfile (ours), so venues this run did not touch keep theirs.
    /// Run-level series of a gwi-fleet before `scope` are dropped (their run's scope is unknown).
    static func read(_ path: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var result: [String: String] = [:]
        let known = Set(families.map(\.name))
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            let key = String(line[..<space]), value = String(line[line.index(after: space)...])
            let name = String(key.prefix { $0 != "{" })
            if known.contains(name), !runFamilies.contains(name) || key.contains("scope=\"") { result[key] = value }
        }
        return result
    }

    /// The exposition text: every family with HELP and TYPE, its series sorted, a final newline.
    static func render(_ series: [String: String]) -> String {
        var lines: [String] = []
        for family in families {
            let members = series.keys.filter { $0.prefix { $0 != "{" } == family.name }.sorted()
            guard !members.isEmpty else { continue }
            lines.append("# HELP \(family.name) \(family.help)")
            lines.append("# TYPE \(family.name) gauge")
            for key in members { lines.append("\(key) \(series[key]!)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func seconds(_ date: Date) -> String { String(format: "%.3f", date.timeIntervalSince1970) }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}

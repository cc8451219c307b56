import FleetModel
import Foundation
import Logging

/// Prometheus metrics after every run: node_exporter's textfile collector file, written
/// atomically (a temporary name in the same directory, then rename), keeping the last known values
/// of venues this run did not touch; and, where configured, the same pushed to a Pushgateway.
public struct MetricsSink: RunSink {
    let textfile: String?
    let pushgateway: String?
    let logger: Logger

    public init(textfile: String?, pushgateway: String?, logger: Logger = RunContext.silent) {
        self.textfile = textfile
        self.pushgateway = pushgateway
        self.logger = logger
    }

    /// Every series gwi-fleet writes, in the file's order, with its help text.
    static let families: [(name: String, help: String)] = [
        ("gwi_fleet_backup_last_success_timestamp_seconds", "Unix time the venue's last successful backup finished."),
        ("gwi_fleet_backup_last_attempt_timestamp_seconds", "Unix time the venue's last backup attempt finished."),
        ("gwi_fleet_backup_last_status", "1 when the venue's last backup attempt succeeded, 0 when it failed."),
        ("gwi_fleet_backup_size_bytes", "Size of the venue's last successful backup as stored."),
        ("gwi_fleet_backup_duration_seconds", "How long the venue's last successful backup took."),
        ("gwi_fleet_backup_rows", "Rows in the venue's last successful backup (exact counts at its snapshot)."),
        ("gwi_fleet_verify_last_success_timestamp_seconds", "Unix time of the venue's last successful restore test."),
        ("gwi_fleet_offsite_last_success_timestamp_seconds", "Unix time the venue's last off-site copy was verified."),
        ("gwi_fleet_database_size_bytes", "Size of the venue's database when last measured."),
        ("gwi_fleet_pitr_window_start_seconds", "Unix time of the first moment a point-in-time restore of the venue can reach (as check last read it)."),
        ("gwi_fleet_pitr_window_end_seconds", "Unix time of the last moment a point-in-time restore of the venue can reach: its server's last archived WAL (as check last read it)."),
        ("gwi_fleet_pitr_archive_lag_seconds", "Seconds from the venue's server's last archived WAL to when check read it."),
        ("gwi_fleet_run_last_timestamp_seconds", "Unix time the last run of the command finished."),
        ("gwi_fleet_run_duration_seconds", "How long the last run of the command took."),
        ("gwi_fleet_run_venues", "Venues of the last run of the command, by status."),
    ]

    public func receive(_ event: RunEvent) async {
        guard case .finished(let report, _) = event else { return }
        var series = textfile.map(Self.read) ?? [:]
        for (key, value) in Self.series(of: report) { series[key] = value }
        let text = Self.render(series)
        if let textfile {
            do {
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
            if let failure = await WebhookClient().send(pushgateway + "/metrics/job/gwi_fleet", method: "PUT", body: Data(text.utf8),
                                                        contentType: "text/plain; version=0.0.4") {
                logger.warning("metrics not pushed", metadata: ["error": .string(failure)])
            }
        }
    }

    /// The series this report sets: `name{labels}` → value.
    static func series(of report: RunReport) -> [String: String] {
        var result: [String: String] = [:]
        let finished = seconds(report.finishedAt)
        func set(_ name: String, _ labels: [(String, String)], _ value: String) {
            result[name + "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"] = value
        }
        for outcome in report.outcomes where outcome.status != .skipped {
            let venue = [("venue", outcome.slug)]
            let ok = outcome.status == .ok || outcome.status == .warning
            switch report.command {
            case "backup":
                set("gwi_fleet_backup_last_attempt_timestamp_seconds", venue, finished)
                set("gwi_fleet_backup_last_status", venue, ok ? "1" : "0")
                if ok {
                    set("gwi_fleet_backup_last_success_timestamp_seconds", venue, finished)
                    if let backup = outcome.result(as: BackupResult.self) {
                        set("gwi_fleet_backup_size_bytes", venue, String(backup.bytes))
                        set("gwi_fleet_backup_rows", venue, String(backup.rows))
                    }
                    set("gwi_fleet_backup_duration_seconds", venue, String(format: "%.3f", Double(outcome.durationMilliseconds) / 1000))
                }
                if outcome.result(as: BackupResult.self)?.offsite?.isVerified == true {
                    set("gwi_fleet_offsite_last_success_timestamp_seconds", venue, finished)
                }
            case "verify" where ok:
                set("gwi_fleet_verify_last_success_timestamp_seconds", venue, finished)
            case "upload" where ok:
                set("gwi_fleet_offsite_last_success_timestamp_seconds", venue, finished)
            default:
                break
            }
            if ok, let bytes = (outcome.result as? any DatabaseSizeResult)?.databaseBytes {
                set("gwi_fleet_database_size_bytes", venue, String(bytes))
            }
        }
        // `check` reads each pitr: venue's window; one it could not read keeps its last known values.
        for (slug, window) in report.totals.pitr ?? [:] where window.error == nil {
            let venue = [("venue", slug)]
            if let earliest = window.earliest { set("gwi_fleet_pitr_window_start_seconds", venue, seconds(earliest)) }
            if let latest = window.latest { set("gwi_fleet_pitr_window_end_seconds", venue, seconds(latest)) }
            if let lag = window.archiveLagSeconds { set("gwi_fleet_pitr_archive_lag_seconds", venue, String(format: "%.3f", lag)) }
        }
        let command = [("command", report.command)]
        set("gwi_fleet_run_last_timestamp_seconds", command, finished)
        set("gwi_fleet_run_duration_seconds", command, String(format: "%.3f", report.finishedAt.timeIntervalSince(report.startedAt)))
        for status in [VenueStatus.ok, .warning, .failed, .skipped] {
            set("gwi_fleet_run_venues", command + [("status", status.rawValue)], String(report.count(status)))
        }
        return result
    }

    /// The series of an existing textfile (ours), so venues this run did not touch keep theirs.
    static func read(_ path: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var result: [String: String] = [:]
        let known = Set(families.map(\.name))
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            let key = String(line[..<space]), value = String(line[line.index(after: space)...])
            if known.contains(String(key.prefix { $0 != "{" })) { result[key] = value }
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

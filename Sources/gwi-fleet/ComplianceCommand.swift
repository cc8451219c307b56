import ArgumentParser
import FleetEngine
import FleetModel
import Foundation

struct ComplianceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compliance",
        abstract: "Per venue and per day: backups taken, restore-tested, off-site, encrypted; retention kept; a verdict against policy:.",
        discussion: """
            Reads only the backup catalog (local, or each venue's backup.remote with --remote), the verify records \\
            and the saved reports; no venue is touched. Exit 0 when every enabled venue is compliant, 1 otherwise. \\
            Example: gwi-fleet compliance --since 30d --out compliance.html
            """)

    @OptionGroup var fileOptions: FleetFileOptions
    @OptionGroup var selectionOptions: SelectionOptions

    @Option(help: "How far back: days (30d, 720h; whole UTC days ending with --until's day).")
    var since = "30d"

    @Option(help: "The period's end: a date (2026-11-25, the end of that UTC day) or a time (2026-11-25T12:00:00Z). Default: now.")
    var until: String?

    @Option(help: "html, markdown, csv (one row per venue and day) or json (the typed model). Default: from --out's extension, else markdown.")
    var format: String?

    @Option(help: "Write the report to this file (durably) instead of the terminal.")
    var out: String?

    @Flag(help: "Read each venue's catalog from its backup.remote instead of the local backup directory.")
    var remote = false

    var options: FleetOptions { FleetOptions(fileOptions, selection: selectionOptions) }

    func validate() throws {
        guard let days = Self.days(since) else { throw ValidationError("--since: bad duration `\(since)` (write e.g. 30d, 90d)") }
        if days > 3660 { throw ValidationError("--since: at most 3660 days") }
        if let until, Self.date(until) == nil { throw ValidationError("--until: bad date `\(until)` (write e.g. 2026-11-25)") }
        if let format, ComplianceFormat(rawValue: format) == nil {
            throw ValidationError("--format: one of " + ComplianceFormat.allCases.map(\.rawValue).joined(separator: ", "))
        }
    }

    func run() async throws {
        let session = try await CommandSession(options: options, command: "compliance")
        let source: ComplianceAudit.Source = remote ? .remote : .local
        if remote, session.venues.allSatisfy({ $0.backup.remote == nil }) {
            throw ValidationError("--remote: no selected venue has a backup.remote")
        }
        let end = until.flatMap(Self.date) ?? WallClock.now()
        var audit = ComplianceAudit(fleet: session.fleet, days: Self.days(since) ?? 30, until: end, history: BackupHistory(), source: source)
        audit.history = await BackupHistory.load(reportsDirectory: session.fleet.reportsDirectory,
                                                 checksSince: audit.since.addingTimeInterval(-ComplianceAudit.checkLookback))
        let (catalogs, unreadable) = await ComplianceAudit.catalogs(of: session.venues, source: source, jobs: session.fleet.jobs)
        if remote { audit.localRestoreTests = ComplianceAudit.localRestoreTests(of: session.venues, until: end) }
        var report = audit.report(venues: session.venues, catalogs: catalogs, unreadable: unreadable,
                                  fleetFileSha256: ComplianceReport.sha256(ofFile: session.fleet.path))
        report.provenance = .current(version: GwiFleet.version, venues: session.fleet.venues)
        let chosen = format.flatMap(ComplianceFormat.init(rawValue:)) ?? (options.json ? .json : nil)
            ?? out.flatMap { ComplianceFormat(fileName: $0) } ?? (out == nil ? .markdown : .html)
        let text = try report.rendered(as: chosen)
        if let out {
            let path = URL(fileURLWithPath: out).path
            do {
                try ComplianceReport.save(text, to: path)
            } catch {
                Terminal.error("error: could not write \(path): \(error)")
                throw ExitCode(ExitCodes.venueFailed)
            }
            Terminal.error("compliance: " + Self.verdictLine(report), level: .info)
            Terminal.out(path)
        } else {
            Terminal.out(text, terminator: "")
        }
        throw ExitCode(report.exitCode)
    }

    static func verdictLine(_ report: ComplianceReport) -> String {
        let summary = report.summary
        let broken = report.venues.filter { $0.verdict == .notCompliant }
        return summary.notCompliant == 0
            ? "all \(summary.compliant) venues compliant over \(report.period.days.count) day" + (report.period.days.count == 1 ? "" : "s")
            : "\(summary.notCompliant) of \(summary.compliant + summary.notCompliant) venues not compliant: "
                + broken.prefix(10).map { "\($0.slug) (\($0.reasons.map(\.code.rawValue).joined(separator: ", ")))" }.joined(separator: ", ")
                + (broken.count > 10 ? ", …" : "")
    }

    /// `30d` → 30, `36h` → 2 (whole days, rounded up).
    static func days(_ text: String) -> Int? {
        guard let duration = FleetDuration.parse(text), duration > .zero else { return nil }
        return Int((Double(duration.components.seconds) / 86_400).rounded(.up))
    }

    /// `2026-11-25` → the end of that UTC day; an ISO 8601 time as it is.
    static func date(_ text: String) -> Date? {
        if text.count == 10, let start = Timestamp.parse(text + "T00:00:00Z") { return start.addingTimeInterval(86_400 - 0.001) }
        return Timestamp.parse(text)
    }
}

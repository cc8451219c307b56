import FleetBasics
import FleetModel
import Foundation

/// `gwi-fleet status`: the fleet at a glance from the backup catalog and the latest reports,
/// touching no venue, each venue judged against `policy:`.
public struct FleetStatus: Sendable {
    /// A venue's verdict, worst first.
    public enum Verdict: String, Sendable, CaseIterable, Codable {
        case failed, corruptLatest = "corrupt-latest", stale, unverified, notOffsite = "not-offsite", archive, ok, disabled
    }

    /// What is known of one venue.
    public struct Row: Sendable {
        public var venue: Venue
        public var verdict: Verdict
        public var reasons: [String]
        public var latest: CatalogEntry?
        public var lastAttempt: AttemptRecord?
        public var lastVerified: Date?
        public var sweep: String?
        /// The newest `verify` report's word on the venue: `ok`, or `failed: …` (a run that could
        /// not test the backup, such as a scratch server lacking a role, says so here and leaves
        /// the backup's state alone).
        public var verifyRun: String?
        /// With `pitr:`: the recovery window.
        public var pitr: PITRStatus?

    }

    /// A row as `status --json` writes it.
    public struct RowJSON: Sendable, Encodable {
        struct Latest: Encodable {
            var file: String
            var time: Date
            var state: BackupState
            var purpose: String?
        }
        struct Attempt: Encodable {
            var status: String
            var at: Date
            var error: String?
            var offsite: String?
        }
        var slug: String
        var verdict: Verdict
        var reasons: [String]
        var latestBackup: Latest?
        var lastAttempt: Attempt?
        var lastVerified: Date?
        var lastSweep: String?
        var lastVerifyRun: String?
        var pitr: PITRStatus?

        public init(_ row: Row) {
            slug = row.venue.slug
            verdict = row.verdict
            reasons = row.reasons
            latestBackup = row.latest.map { Latest(file: $0.path, time: $0.date, state: $0.state, purpose: $0.manifest?.effectivePurpose.rawValue) }
            lastAttempt = row.lastAttempt.map { Attempt(status: $0.status.rawValue, at: $0.at, error: $0.error, offsite: $0.offsite) }
            lastVerified = row.lastVerified
            lastSweep = row.sweep
            lastVerifyRun = row.verifyRun
            pitr = row.pitr
        }

        enum CodingKeys: String, CodingKey {
            case slug, verdict, reasons, latestBackup = "latest_backup", lastAttempt = "last_attempt", lastVerified = "last_verified"
            case lastSweep = "last_sweep", lastVerifyRun = "last_verify_run", pitr
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(slug, forKey: .slug)
            try container.encode(verdict, forKey: .verdict)
            try container.encode(reasons, forKey: .reasons)
            try container.encode(latestBackup, forKey: .latestBackup)
            try container.encode(lastAttempt, forKey: .lastAttempt)
            try container.encode(lastVerified, forKey: .lastVerified)
            try container.encode(lastSweep, forKey: .lastSweep)
            try container.encode(lastVerifyRun, forKey: .lastVerifyRun)
            try container.encodeIfPresent(pitr, forKey: .pitr)
        }
    }

    public var fleet: Fleet
    public var now: Date

    public init(fleet: Fleet, now: Date = WallClock.now()) {
        self.fleet = fleet
        self.now = now
    }

    /// Every venue's row, worst verdict first (fleet order within a verdict).
    public func rows(_ venues: [Venue]) async -> [Row] {
        let directory = fleet.reportsDirectory
        let sweep = await BlockingExecutor.shared.run { RunReport.newest(command: "sweep", in: directory).flatMap(Self.sweepVerdicts) } ?? [:]
        let verify = await BlockingExecutor.shared.run { RunReport.newest(command: "verify", in: directory).flatMap(Self.sweepVerdicts) } ?? [:]
        // The one part of status that asks the servers: the venues' point-in-time windows.
        let windows = await PITRStatus.read(venues.filter(\.enabled))
        let rows = venues.map { venue in
            var row = row(for: venue, sweep: sweep[venue.slug], pitr: windows[venue.slug])
            row.verifyRun = verify[venue.slug]
            return row
        }
        let rank = Dictionary(uniqueKeysWithValues: Verdict.allCases.enumerated().map { ($1, $0) })
        return rows.enumerated().sorted { (rank[$0.element.verdict]!, $0.offset) < (rank[$1.element.verdict]!, $1.offset) }.map(\.element)
    }

    func row(for venue: Venue, sweep: String?, pitr: PITRStatus? = nil) -> Row {
        let catalog = BackupCatalog(venue: venue)
        let entries = catalog.entries(now: now)
        let attempt = catalog.lastAttempt()
        var row = Row(venue: venue, verdict: .ok, reasons: [], latest: entries.latestRestorePoint, lastAttempt: attempt,
                      lastVerified: PolicyJudge.lastVerified(entries), sweep: sweep, pitr: pitr)
        guard venue.enabled else { row.verdict = .disabled; return row }
        let judge = PolicyJudge(policy: fleet.policy)
        let breaches = judge.breaches(of: venue, entries: entries, attempt: attempt, now: now)
            + (pitr.map { judge.breaches(ofArchive: $0, now: now) } ?? [])
        row.verdict = breaches.first.map { Verdict(rawValue: $0.rule.rawValue)! } ?? .ok
        row.reasons = breaches.map(\.text)
        return row
    }

    /// `slug → "ok"`, `"warning: …"` or `"failed: …"` from a sweep (or verify) report.
    static func sweepVerdicts(_ path: String) -> [String: String]? {
        guard let report = try? RunReport.read(path) else { return nil }
        var result: [String: String] = [:]
        for outcome in report.outcomes {
            let detail = outcome.error ?? outcome.warnings.joined(separator: "; ")
            result[outcome.slug] = outcome.status.rawValue + (detail.isEmpty ? "" : ": " + detail)
        }
        return result
    }
}

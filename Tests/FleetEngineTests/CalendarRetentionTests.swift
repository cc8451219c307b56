@testable import FleetEngine
import FleetModel
import Foundation
import Testing

/// Issue 22.2: restic's calendar rules beside keep_days/keep_min, as a pure plan.
@Suite struct CalendarRetentionTests {
    /// Wednesday 2026-12-02 12:00 UTC.
    let now = Date(timeIntervalSince1970: 1_796_212_800)

    func entry(_ date: Date, purpose: BackupPurpose = .scheduled, state: BackupState = .complete) -> CatalogEntry {
        let name = "gwi_pos_v-\(Timestamp.compact(date)).dump"
        let manifest = BackupManifest(venue: "v", database: "gwi_pos_v", file: name, format: .custom, bytes: 1, sha256: "ab",
                                      startedAt: date, finishedAt: date, serverVersion: "17", pgDumpVersion: "17", snapshot: "s",
                                      rowCounts: [:], tool: "gwi-fleet", purpose: purpose)
        return CatalogEntry(path: "/b/v/" + name, manifest: manifest, state: state, date: date, bytes: 1)
    }

    @Test func fourHundredDailyBackupsKeepExactlyTheNewestOfEachPeriod() {
        #expect(Timestamp.iso8601(now).hasPrefix("2026-12-02T12:00:00"))
        // A backup at 02:00 UTC every day for 400 days (back to 2025-10-29), newest first.
        var entries = (0..<400).map { entry(now.addingTimeInterval(-10 * 3600 - Double($0) * 86_400)) }
        // The newest verified backup is kept whatever the rules say.
        entries[200].state = .verified
        // A safety backup newer than the day's scheduled one is no restore point: it is not the
        // day's newest, and keep_days 0 lets it go.
        entries.insert(entry(now.addingTimeInterval(-7 * 3600), purpose: .safety), at: 0)
        let policy = RetentionPolicy(keepDays: 0, keepMin: 1, calendar: .init(daily: 7, weekly: 4, monthly: 12, yearly: 3))
        let decisions = Retention.plan(entries, retention: policy, now: now)
        let kept = decisions.filter { !$0.delete }.map { String($0.path.dropFirst("/b/v/gwi_pos_v-".count).prefix(8)) }
        #expect(kept == [
            "20261202", "20261201", "20261130", "20261129", "20261128", "20261127", "20261126", "20261122", "20261115",
            "20261031", "20260930", "20260831", "20260731", "20260630", "20260531", "20260430",
            "20260516",  // the newest verified, 200 days ago
            "20260331", "20260228", "20260131", "20251231",
        ].sorted(by: >), "\(kept)")
        #expect(decisions.count == 401 && decisions.filter(\.delete).count == 401 - kept.count)
        // Each kept backup says which rule keeps it; every rule that does.
        let reason = { (prefix: String) in decisions.first { $0.path.contains("-" + prefix) }?.reason ?? "" }
        #expect(reason("20261202T02") == "one of the newest 1 complete backups")
        #expect(reason("20261129") == "kept by keep_daily (newest of 2026-11-29), keep_weekly (newest of 2026-W48)")
        #expect(reason("20261130") == "kept by keep_daily (newest of 2026-11-30), keep_monthly (newest of 2026-11)")
        #expect(reason("20251231") == "kept by keep_yearly (newest of 2025)")  // twelve months back is January 2026
        #expect(reason("20261202T05") == "safety backup older than 0 days (no restore point)")
        #expect(reason("20261125") == "older than 0 days")
    }

    @Test func theRulesCountPeriodsThatHaveBackupsAndNeverCorruptOnes() {
        // Backups only on 1, 10 and 40 days ago, one corrupt on 5 days ago: keep_daily 2 keeps the two
        // newest days that have a complete backup (restic), not just "the last two calendar days".
        let entries = [
            entry(now.addingTimeInterval(-1 * 86_400)),
            entry(now.addingTimeInterval(-5 * 86_400), state: .corrupt),
            entry(now.addingTimeInterval(-10 * 86_400)),
            entry(now.addingTimeInterval(-40 * 86_400)),
        ]
        let decisions = Retention.plan(entries, retention: RetentionPolicy(keepDays: 0, keepMin: 1, calendar: .init(daily: 2)), now: now)
        #expect(decisions.map(\.delete) == [false, false, false, true], "\(decisions.map(\.reason))")
        #expect(decisions[2].reason.hasPrefix("kept by keep_daily"))
        #expect(decisions[1].reason.hasPrefix("corrupt"))
    }
}

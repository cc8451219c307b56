@testable import FleetEngine
import FleetModel
import Foundation
import Testing

/// The one judge of "within policy" that status, sweep and compliance share, without a server.
@Suite struct PolicyJudgeTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func entry(_ name: String, hoursAgo: Double, state: BackupState, purpose: BackupPurpose = .scheduled, verifiedHoursAgo: Double? = nil) -> CatalogEntry {
        let date = now.addingTimeInterval(-hoursAgo * 3600)
        let manifest = BackupManifest(venue: "v", database: "gwi_pos_v", file: name, format: .custom, bytes: 1, sha256: "ab",
                                      startedAt: date, finishedAt: date, serverVersion: "17", pgDumpVersion: "17", snapshot: "s",
                                      rowCounts: [:], tool: "gwi-fleet", purpose: purpose)
        var entry = CatalogEntry(path: "/b/v/" + name, manifest: manifest, state: state, date: date, bytes: 1)
        if let verifiedHoursAgo {
            entry.verification = VerificationRecord(verifiedAt: now.addingTimeInterval(-verifiedHoursAgo * 3600), sha256: "ab",
                                                    checksumOK: true, restoreOK: true, tablesMatched: 1, tables: 1, mismatches: [])
        }
        return entry
    }

    @Test func aFreshVerifiedOffsiteVenueBreaksNothing() {
        var venue = testVenue("v", url: "postgresql://x/{database}", directory: "/b")
        venue.backup.remote = RemotePolicy(url: "offsite:b/f")
        let entries = [entry("a.dump", hoursAgo: 2, state: .verified, verifiedHoursAgo: 1)]
        let attempt = AttemptRecord(status: .ok, at: now, error: nil, offsite: "verified", offsiteVerifiedAt: now.addingTimeInterval(-3600))
        #expect(PolicyJudge(policy: HealthPolicy()).breaches(of: venue, entries: entries, attempt: attempt, now: now).isEmpty)
    }

    @Test func everyRuleIsJudgedFromTheLatestRestorePointWorstFirst() {
        var venue = testVenue("v", url: "postgresql://x/{database}", directory: "/b")
        venue.maxBackupAge = .seconds(10 * 3600)  // backup.max_age of this venue, not the fleet's 26 h
        venue.backup.remote = RemotePolicy(url: "offsite:b/f")
        // Newest: a corrupt backup; then a safety backup (no restore point); the restore point is 12 h old.
        let entries = [entry("c.dump", hoursAgo: 1, state: .corrupt), entry("s.dump", hoursAgo: 3, state: .complete, purpose: .safety),
                       entry("r.dump", hoursAgo: 12, state: .verified, verifiedHoursAgo: 10 * 24)]
        #expect(entries.latestRestorePoint?.fileName == "r.dump")
        let attempt = AttemptRecord(status: .failed, at: now, error: "pg_dump: connection refused", offsite: "failed")
        let breaches = PolicyJudge(policy: HealthPolicy()).breaches(of: venue, entries: entries, attempt: attempt, now: now)
        #expect(breaches.map(\.rule) == [.failed, .corruptLatest, .stale, .unverified, .notOffsite])
        #expect(breaches[2].text == "latest complete backup is 12h 0m old (policy: 10h)")
        #expect(breaches[3].text == "last restore test 10d 0h ago (policy: 8d)")
        #expect(breaches[4].text == "the last off-site copy failed (gwi-fleet upload)")
        #expect(PolicyJudge.freshness(of: venue, latest: entries.latestRestorePoint, now: now) == .stale)
        #expect(PolicyJudge.damagedNewest(entries)?.fileName == "c.dump")
    }

    @Test func noBackupAtAllIsStaleAndNeverTested() {
        let venue = testVenue("v", url: "postgresql://x/{database}", directory: "/b")
        let breaches = PolicyJudge(policy: HealthPolicy()).breaches(of: venue, entries: [], attempt: nil, now: now)
        #expect(breaches.map(\.text) == ["no complete backup", "never restore-tested (run gwi-fleet verify)"])
    }
}

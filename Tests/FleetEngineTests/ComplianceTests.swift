@testable import FleetEngine
import FleetModel
import Foundation
import Testing

/// `compliance` over 30 simulated days built file by file: every figure checked against what was built.
@Suite struct ComplianceTests {
    /// The period ends 2026-11-20 12:00 UTC; day 0 is 2026-10-22, day 29 is 2026-11-20.
    let until = Timestamp.parse("2026-11-20T12:00:00Z")!
    var dayZero: Date { Timestamp.parse("2026-10-22T00:00:00Z")! }
    let hour: TimeInterval = 3600, day: TimeInterval = 86_400

    /// What the test wrote, to compute the expected figures independently of the audit.
    final class Built {
        var goodBytesByDay: [Int: Int] = [:]
        var longestByDay: [Int: Double] = [:]
        var storedBytes = 0
        var reportRows: [Date: [VenueOutcome]] = [:]
    }

    func digestOf(_ data: Data) -> DigestTap.Digest {
        var digester = Digester()
        data.withUnsafeBytes { digester.update($0) }
        return digester.finalize()
    }

    func backupTime(_ index: Int, atHour: Double = 2) -> Date { dayZero.addingTimeInterval(Double(index) * day + atHour * hour) }

    /// Writes one backup (dump, manifest, optional verify record) and its row in that day's saved report.
    @discardableResult
    func put(_ venue: Venue, day index: Int, atHour: Double = 2, built: Built, verified: Bool = false, corrupt: Bool = false,
             encrypted: Bool = false, offsite: String? = nil, report: Bool = true, keep: Bool = true, counted: Bool = true,
             purpose: BackupPurpose = .scheduled) throws -> String {
        let started = backupTime(index, atHour: atHour)
        let duration = 60.0 + Double(index)
        let name = "\(venue.database)-\(Timestamp.compact(started)).dump"
        let directory = venue.backup.directory + "/" + venue.slug
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let body = Data(String(repeating: "x", count: 1000 + 100 * max(0, index)).utf8)
        let digest = digestOf(body)
        var manifest = BackupManifest(venue: venue.slug, database: venue.database, file: name, format: .custom, bytes: body.count,
                                      sha256: digest.sha256, startedAt: started, finishedAt: started.addingTimeInterval(duration),
                                      serverVersion: "15", pgDumpVersion: "15", snapshot: "s", rowCounts: ["public.Order": 10], tool: "gwi-fleet",
                                      purpose: purpose)
        if encrypted { manifest.encryption = .init(tool: "age", recipients: ["sha256:abc"]) }
        if keep {
            try (corrupt ? body.dropLast(7) : body).write(to: URL(fileURLWithPath: directory + "/" + name))
            try manifest.encoded().write(to: URL(fileURLWithPath: directory + "/" + BackupManifest.name(forDump: name)))
            built.storedBytes += corrupt ? body.count - 7 : body.count
        }
        if verified {
            let record = VerificationRecord(verifiedAt: started.addingTimeInterval(hour), sha256: digest.sha256, checksumOK: true,
                                            restoreOK: true, tablesMatched: 1, tables: 1, mismatches: [])
            try BackupCatalog.encoder.encode(record).write(to: URL(fileURLWithPath: directory + "/" + String(name.dropLast(5)) + ".verify.json"))
        }
        if !corrupt && counted && venue.enabled {  // safety backups take bytes and time too
            built.goodBytesByDay[index, default: 0] += body.count
            built.longestByDay[index] = max(built.longestByDay[index] ?? 0, duration)
        }
        if report {
            let result = BackupResult(file: directory + "/" + name, bytes: body.count, encrypted: encrypted,
                                      offsite: offsite.map { BackupResult.Offsite(status: $0) })
            let failed = offsite == "failed"
            built.reportRows[started, default: []].append(VenueOutcome(
                slug: venue.slug, database: venue.database, status: failed ? .failed : .ok,
                error: failed ? "offsite copy failed: rclone: 503 Slow Down" : nil, result: result))
        }
        return name
    }

    func saveReports(_ built: Built, fleet: Fleet, extra: [(String, Date, [VenueOutcome])] = []) throws {
        for (started, rows) in built.reportRows {
            try RunReport(command: "backup", fleet: .init(fleet), startedAt: started, finishedAt: started.addingTimeInterval(120),
                          interrupted: false, outcomes: rows).save(in: fleet.reportsDirectory)
        }
        for (command, started, rows) in extra {
            try RunReport(command: command, fleet: .init(fleet), startedAt: started, finishedAt: started,
                          interrupted: false, outcomes: rows).save(in: fleet.reportsDirectory)
        }
    }

    @Test func thirtyDaysOfHistoryGiveEveryFigureOfTheReport() async throws {
        let root = try scratchDirectory("compliance")
        let built = Built()
        func venue(_ slug: String, remote: Bool = false, encrypt: Bool = false, enabled: Bool = true) -> Venue {
            var venue = testVenue(slug, url: "postgresql://nowhere/{database}", directory: root + "/backups")
            if remote { venue.backup.remote = RemotePolicy(url: "offsite:never-contacted/fleet") }
            if encrypt { venue.backup.encryption = BackupEncryption(recipients: ["age1example"]) }
            venue.enabled = enabled
            return venue
        }
        let steady = venue("steady", remote: true, encrypt: true)
        let gappy = venue("gappy")
        let lateOff = venue("late-off", remote: true, encrypt: true)
        let neverVerified = venue("never-verified")
        let resting = venue("resting", enabled: false)
        let fleetPath = root + "/fleet.yaml"
        try Data("venues: [steady, gappy, late-off, never-verified, resting]\n".utf8).write(to: URL(fileURLWithPath: fleetPath))
        let fleet = Fleet(path: fleetPath, venues: [steady, gappy, lateOff, neverVerified, resting], reportsDirectory: root + "/reports")

        for index in 0..<30 {
            // steady: every day, encrypted, off-site; the last three restore-tested.
            try put(steady, day: index, built: built, verified: index >= 27, encrypted: true, offsite: "verified")
            // gappy: nothing on days 10-12 (an attempt failed on 12), day 20's only backup is corrupt, day 25 restore-tested.
            if ![10, 11, 12].contains(index) {
                try put(gappy, day: index, built: built, verified: index == 25, corrupt: index == 20)
            }
            // late-off: every day; day 15's off-site copy failed, day 5's backup was stored unencrypted.
            try put(lateOff, day: index, built: built, verified: index == 28, encrypted: index != 5, offsite: index == 15 ? "failed" : "verified")
            // never-verified: every day, never restore-tested.
            try put(neverVerified, day: index, built: built)
        }
        // never-verified also keeps a 45-day-old backup nothing holds (kept past retention), lost one
        // of day 27 without any prune, and had two before the period that were pruned (no reason to
        // complain): one by `prune`, one by the `backup --prune` of day 0.
        try put(neverVerified, day: -15, built: built, report: false, counted: false)
        let lost = try put(neverVerified, day: 27, atHour: 14, built: built, keep: false, counted: false)
        let prunedByPrune = try put(neverVerified, day: -2, built: built, keep: false, counted: false)
        let pruned = try put(neverVerified, day: -1, built: built, keep: false, counted: false)
        let dayZeroRows = try #require(built.reportRows[backupTime(0)])
        let rowIndex = try #require(dayZeroRows.firstIndex { $0.slug == "never-verified" })
        var prunedRow = try #require(dayZeroRows[rowIndex].result(as: BackupResult.self))
        prunedRow.pruned = PruneResult(dryRun: false, deleted: [.init(file: root + "/backups/never-verified/" + pruned, reason: "older than 30 days")], kept: [])
        built.reportRows[backupTime(0)]![rowIndex].result = prunedRow
        // A safety backup (taken before a restore) on gappy's day 11 is no restore point.
        try put(gappy, day: 11, atHour: 9, built: built, report: false, purpose: .safety)
        let failedAt = backupTime(12, atHour: 2)
        built.reportRows[failedAt, default: []].append(VenueOutcome(slug: "gappy", database: gappy.database, status: .failed,
                                                                    error: "pg_dump: connection refused"))
        let pruneRow = VenueOutcome(slug: "never-verified", database: neverVerified.database, status: .ok, result: PruneResult(
            dryRun: false, deleted: [.init(file: root + "/backups/never-verified/" + prunedByPrune, reason: "older than 30 days")], kept: []))
        try saveReports(built, fleet: fleet, extra: [("prune", backupTime(0, atHour: 1), [pruneRow])])

        let audit = ComplianceAudit(fleet: fleet, days: 30, until: until, history: await BackupHistory.load(reportsDirectory: fleet.reportsDirectory))
        let (catalogs, unreadable) = await ComplianceAudit.catalogs(of: fleet.venues, source: .local, jobs: 2)
        let report = audit.report(venues: fleet.venues, catalogs: catalogs, unreadable: unreadable, fleetFileSha256: ComplianceReport.sha256(ofFile: fleetPath))

        // The period.
        #expect(report.period.days.count == 30 && report.period.days.first == "2026-10-22" && report.period.days.last == "2026-11-20")
        #expect(report.period.since == dayZero && report.period.until == until)

        // Worst first: the three that break the policy (fewest days covered first), then steady, then the disabled one.
        #expect(report.venues.map(\.slug) == ["gappy", "late-off", "never-verified", "steady", "resting"], "\(report.venues.map(\.slug))")
        let rows = Dictionary(uniqueKeysWithValues: report.venues.map { ($0.slug, $0) })

        let s = try #require(rows["steady"])
        #expect(s.verdict == .compliant && s.reasons.isEmpty, "\(s.reasons)")
        #expect(s.coveredDays == 30)
        #expect(s.days.prefix(27).allSatisfy { $0.state == .complete && $0.offsite == true && $0.encrypted == true })
        #expect(s.days.suffix(3).allSatisfy { $0.state == .verified })
        #expect(s.longestGap?.seconds == day)
        #expect(s.verifyAgeSeconds == until.timeIntervalSince(backupTime(29).addingTimeInterval(hour)))
        #expect(s.offsiteRequired == true && s.longestOffsiteGap?.seconds == day && s.encryptionRequired)
        #expect(s.retention.ok && s.failedAttempts.isEmpty && s.backups.count == 30)

        let g = try #require(rows["gappy"])
        #expect(g.verdict == .notCompliant && g.reasons.map(\.code) == [.recoveryPoint], "\(g.reasons)")
        #expect(g.coveredDays == 26)
        #expect(g.days[10].state == .missing && g.days[11].state == .missing)
        #expect(g.days[12].state == .failed && g.days[12].failedAttempts == 1)
        #expect(g.days[20].state == .failed && g.days[25].state == .verified && g.days[0].offsite == nil)
        #expect(g.longestGap == .init(from: backupTime(9), to: backupTime(13), seconds: 4 * day))
        #expect(g.failedAttempts == [.init(at: failedAt, error: "pg_dump: connection refused")])
        let corrupt = try #require(g.backups.first { $0.state == .corrupt })
        #expect(corrupt.startedAt == backupTime(20) && corrupt.reason?.contains("manifest says") == true)
        #expect(g.verifyAgeSeconds == until.timeIntervalSince(backupTime(25).addingTimeInterval(hour)))

        let l = try #require(rows["late-off"])
        #expect(l.reasons.map(\.code) == [.notOffsite, .unencrypted], "\(l.reasons)")
        #expect(l.days[15].offsite == false && l.days[14].offsite == true && l.days[15].state == .complete)
        #expect(l.longestOffsiteGap == .init(from: backupTime(14), to: backupTime(16), seconds: 2 * day))
        #expect(l.reasons[0].text.contains("gwi_pos_late-off-\(Timestamp.compact(backupTime(15))).dump"))
        #expect(l.days[5].encrypted == false && l.reasons[1].text.contains(Timestamp.compact(backupTime(5))))
        #expect(l.failedAttempts.map(\.error) == ["offsite copy failed: rclone: 503 Slow Down"])
        #expect(l.coveredDays == 30)

        let n = try #require(rows["never-verified"])
        #expect(n.reasons.map(\.code) == [.unverified, .retention, .retention], "\(n.reasons)")
        #expect(n.latestVerifiedAt == nil && n.verifyAgeSeconds == nil && n.reasons[0].text == "never restore-tested")
        #expect(n.retention.keptPastPolicy.count == 1 && n.retention.keptPastPolicy[0].hasPrefix("gwi_pos_never-verified-\(Timestamp.compact(backupTime(-15)))"))
        #expect(n.retention.missing == ["\(lost) (\(Timestamp.iso8601(backupTime(27, atHour: 14))))"])
        #expect(n.backups.contains { $0.file == lost && $0.state == .lost })
        #expect(!n.backups.contains { $0.file == pruned }, "before the period")
        #expect(!n.reasons.contains { $0.text.contains(pruned) || $0.text.contains(prunedByPrune) }, "deleted by prune: no reason to complain")
        #expect(n.coveredDays == 30 && n.longestGap?.seconds == day, "the backup of the day before the period, pruned by backup --prune, counts")

        let r = try #require(rows["resting"])
        #expect(r.verdict == .disabled && r.reasons.isEmpty && r.coveredDays == 0)

        // The fleet.
        let summary = report.summary
        #expect(summary.venues == 5 && summary.disabled == 1 && summary.compliant == 1 && summary.notCompliant == 3)
        #expect(summary.byReason.map(\.reason) == [.recoveryPoint, .unverified, .notOffsite, .unencrypted, .retention])
        #expect(summary.byReason.first { $0.reason == .retention }?.venues == ["never-verified"])
        #expect(summary.venueDays == 120 && summary.coveredVenueDays == 116 && summary.coverage == 116.0 / 120.0)
        #expect(summary.storedBytes == built.storedBytes)
        #expect(summary.daily.map(\.bytes) == (0..<30).map { built.goodBytesByDay[$0] ?? 0 })
        #expect(summary.periodBytes == built.goodBytesByDay.values.reduce(0, +))
        #expect(summary.daily.map(\.longestSeconds) == (0..<30).map { built.longestByDay[$0] })
        let first = Double((0..<7).map { built.goodBytesByDay[$0]! }.reduce(0, +)) / 7
        let last = Double((23..<30).map { built.goodBytesByDay[$0]! }.reduce(0, +)) / 7
        #expect(summary.bytesTrendPercent == ((last - first) / first * 1000).rounded() / 10)
        #expect(report.fleet.fileSha256 == digestOf(try Data(contentsOf: URL(fileURLWithPath: fleetPath))).sha256)
        #expect(report.exitCode == 1)

        // Every format carries the same figures.
        let decoded = try ComplianceReport.decode(report.encoded())
        #expect(decoded.venues == report.venues && decoded.summary == report.summary)
        let csv = ComplianceText.csv(report).split(separator: "\n")
        #expect(csv.count == 1 + 5 * 30)
        #expect(csv.contains { $0.hasPrefix("gappy,gwi_pos_gappy,2026-11-01,missing,0,,,0,not-compliant,recovery-point,26,30,2026-10-22T02:00:00.000Z,96.0,") })
        #expect(csv.contains { $0.hasPrefix("late-off,gwi_pos_late-off,2026-11-06,complete,1,false,true,1,not-compliant,not-offsite;unencrypted,30,30,") })
        let markdown = ComplianceText.markdown(report)
        #expect(markdown.contains("**3 of 4 venues not compliant**"))
        #expect(markdown.contains("| venue-days covered | 116 of 120 (96.7%) |"))
        #expect(markdown.contains("| gappy | not-compliant | 2026-10-22 02:00 UTC | 26/30 | 4d 0h from 2026-10-31 02:00 UTC |"))
        #expect(markdown.contains("| fleet file SHA-256 | \(report.fleet.fileSha256) |"))
        #expect(markdown.contains("| complete backup at most | 1d2h apart |") && markdown.contains("| restore test at most | 8d old |"))
        #expect(markdown.contains("| gappy | C | C | C | C | C | C | C | C | C | C | - | - | ! | C |") && markdown.contains("| steady | Co | Co | "), "the day grid")
    }

    @Test func aCompliantFleetExitsZeroAndAVenueWithoutBackupsIsNamed() throws {
        let root = try scratchDirectory("compliance-ok")
        let built = Built()
        var venue = testVenue("solo", url: "postgresql://nowhere/{database}", directory: root + "/backups")
        let empty = testVenue("empty", url: "postgresql://nowhere/{database}", directory: root + "/backups")
        venue.backup.retention = RetentionPolicy(keepDays: 3, keepMin: 2)
        for index in 27..<30 { try put(venue, day: index, built: built, verified: index == 29) }
        let fleet = Fleet(path: root + "/fleet.yaml", venues: [venue], reportsDirectory: root + "/reports")
        let audit = ComplianceAudit(fleet: fleet, days: 3, until: until, history: BackupHistory())
        let report = audit.report(venues: [venue], catalogs: ["solo": BackupCatalog(venue: venue)], fleetFileSha256: "x")
        #expect(report.exitCode == 0 && report.venues[0].reasons.isEmpty, "\(report.venues[0].reasons)")
        #expect(report.summary.coverage == 1 && report.summary.bytesTrendPercent != nil)
        let none = audit.report(venues: [empty], catalogs: [:], unreadable: ["empty": "rclone: 403 Forbidden"], fleetFileSha256: "x")
        // Unreadable is the one reason: nothing is claimed about backups that could not be read.
        #expect(none.venues[0].reasons.map(\.code) == [.catalogUnreadable])
        #expect(none.venues[0].reasons.contains { $0.text.contains("403 Forbidden") } && none.exitCode == 1)
        // A venue whose latest attempt failed before the period (and nothing since) says so.
        let stuck = testVenue("stuck", url: "postgresql://nowhere/{database}", directory: root + "/backups")
        try FileManager.default.createDirectory(atPath: root + "/backups/stuck", withIntermediateDirectories: true)
        try BackupCatalog.recordAttempt(AttemptRecord(status: .failed, at: until.addingTimeInterval(-10 * day), error: "role \"ops\" does not exist"), of: stuck)
        let stalled = audit.report(venues: [stuck], catalogs: ["stuck": BackupCatalog(venue: stuck)], fleetFileSha256: "x").venues[0]
        #expect(stalled.reasons.map(\.code) == [.noBackup, .lastAttemptFailed, .unverified], "\(stalled.reasons)")
        #expect(stalled.reasons[1].text.contains("role \"ops\" does not exist") && stalled.failedAttempts.isEmpty, "listed only within the period")
    }

    @Test func onTheRemoteOnlyWhatReachedItCanBeLost() async throws {
        let root = try scratchDirectory("compliance-remote")
        let built = Built()
        var venue = testVenue("far", url: "postgresql://nowhere/{database}", directory: root + "/remote-copy")
        venue.backup.remote = RemotePolicy(url: "offsite:bucket/fleet")
        // What the remote holds (read here from a directory: the audit takes any catalog).
        for index in 25..<30 where index != 27 { try put(venue, day: index, built: built, verified: index == 29, offsite: "verified") }
        // Day 27: the backup's off-site copy failed; day 28 also had a second backup that reached the remote and is gone.
        try put(venue, day: 27, built: built, offsite: "failed", keep: false)
        let gone = try put(venue, day: 28, atHour: 8, built: built, offsite: "verified", keep: false)
        let fleet = Fleet(path: root + "/fleet.yaml", venues: [venue], reportsDirectory: root + "/reports")
        try saveReports(built, fleet: fleet)
        let audit = ComplianceAudit(fleet: fleet, days: 5, until: until, history: await BackupHistory.load(reportsDirectory: fleet.reportsDirectory),
                                    source: .remote)
        let report = audit.report(venues: [venue], catalogs: ["far": BackupCatalog(venue: venue)], fleetFileSha256: "x")
        let row = report.venues[0]
        #expect(report.source == "remote" && row.days.map(\.state) == [.complete, .complete, .failed, .complete, .verified], "day 27: its attempt failed (off-site)")
        #expect(row.days.map(\.offsite) == [true, true, false, true, true], "on the remote, what is there is off-site")
        #expect(row.retention.missing == ["\(gone) (\(Timestamp.iso8601(backupTime(28, atHour: 8))))"], "\(row.retention)")
        #expect(!row.backups.contains { $0.startedAt == backupTime(27) }, "never reached the remote: not lost from it")
        #expect(row.reasons.map(\.code) == [.recoveryPoint, .notOffsite, .retention], "\(row.reasons)")
    }
}

extension ComplianceTests {
    /// A saved `check` report read at `at`: each venue's window as `check` keeps it (`fleet_totals.pitr`).
    func saveCheck(at: Date, windows: [String: PITRStatus], fleet: Fleet) throws {
        try RunReport(runID: RunReport.newRunID(at: at.addingTimeInterval(-5), environment: [:]), command: "check", fleet: .init(fleet),
                      startedAt: at.addingTimeInterval(-5), finishedAt: at.addingTimeInterval(1), interrupted: false,
                      outcomes: [], totals: FleetTotals(pitr: windows)).save(in: fleet.reportsDirectory)
    }

    /// A window read at `at` whose last archived WAL was `lag` seconds old then.
    func window(at: Date, lag: Double) -> PITRStatus {
        PITRStatus(provider: "pgbackrest", earliest: dayZero, latest: at.addingTimeInterval(-lag), archiveLagSeconds: lag, checkedAt: at)
    }

    @Test func theRecoveryPointIsTheArchiveLagWherePITRHeldAndTheBackupGapOtherwise() async throws {
        let root = try scratchDirectory("compliance-rpo")
        let built = Built()
        let archived = testVenue("archived", url: "postgresql://nowhere/{database}", directory: root + "/backups")
        let unreadable = testVenue("unreadable", url: "postgresql://nowhere/{database}", directory: root + "/backups")
        let plain = testVenue("plain", url: "postgresql://nowhere/{database}", directory: root + "/backups")
        let fleet = Fleet(path: root + "/fleet.yaml", venues: [archived, unreadable, plain], reportsDirectory: root + "/reports")
        // The period: days 25 to 29 (2026-11-16 to the 20th at noon). Every venue is backed up at
        // 02:00 from the day before it; plain misses day 27.
        for index in 24..<30 {
            try put(archived, day: index, built: built)
            try put(unreadable, day: index, built: built)
            if index != 27 { try put(plain, day: index, built: built) }
        }
        try saveReports(built, fleet: fleet)
        // A check every six hours from the evening before the period, the archive 30 s behind; on
        // day 27 at 06:00 archived's archive had stalled for two hours, and unreadable's window
        // could not be read from day 26 at 12:00 to day 27 at 06:00.
        let stalled = backupTime(27, atHour: 6)
        let failing = (0..<4).map { backupTime(26, atHour: 12 + 6 * Double($0)) }
        for hours in stride(from: 24 * 24 + 18, through: 29 * 24 + 12, by: 6) {
            let at = dayZero.addingTimeInterval(Double(hours) * hour)
            var unreadableWindow = window(at: at, lag: 30)
            if failing.contains(at) { unreadableWindow = PITRStatus(provider: "pgbackrest", checkedAt: at, error: "pgbackrest info: stanza not found") }
            try saveCheck(at: at, windows: ["archived": window(at: at, lag: at == stalled ? 7200 : 30), "unreadable": unreadableWindow], fleet: fleet)
        }
        // A check older than the look-back is not read (it would change nothing here either).
        try saveCheck(at: dayZero, windows: ["archived": window(at: dayZero, lag: 1)], fleet: fleet)

        let audit = ComplianceAudit(fleet: fleet, days: 5, until: until, history: BackupHistory())
        var loaded = audit
        loaded.history = await BackupHistory.load(reportsDirectory: fleet.reportsDirectory,
                                                  checksSince: audit.since.addingTimeInterval(-ComplianceAudit.checkLookback))
        #expect(loaded.history.archive["archived"]?.count == 20 && loaded.history.archive["archived"]?.first?.at == backupTime(24, atHour: 18))
        let report = loaded.report(venues: fleet.venues, catalogs: Dictionary(uniqueKeysWithValues: fleet.venues.map { ($0.slug, BackupCatalog(venue: $0)) }),
                                   fleetFileSha256: "x")
        let rows = Dictionary(uniqueKeysWithValues: report.venues.map { ($0.slug, $0) })

        // archived: the worst moment is day 27 at noon, the first check after the stall: what was
        // proven archived then reached 04:00. Without the archive it would have been a day.
        let a = try #require(rows["archived"]?.recoveryPoint)
        #expect(a == .init(seconds: 8 * hour, at: backupTime(27, atHour: 12), restorableTo: backupTime(27, atHour: 4), source: .archive), "\(a)")
        #expect(rows["archived"]?.longestGap?.seconds == day)
        // unreadable: no archive to count on from day 26 at noon, so day 27's 02:00 backup came
        // a whole day after the one before.
        let u = try #require(rows["unreadable"]?.recoveryPoint)
        #expect(u == .init(seconds: day, at: backupTime(27), restorableTo: backupTime(26), source: .backup), "\(u)")
        // plain: no pitr, no checks: the longest gap between backups, to the second.
        let p = try #require(rows["plain"]?.recoveryPoint)
        #expect(p == .init(seconds: 2 * day, at: backupTime(28), restorableTo: backupTime(26), source: .backup), "\(p)")
        #expect(rows["plain"]?.longestGap?.seconds == p.seconds)
        // Nothing at all: from the period's start to its end.
        let empty = audit.report(venues: [plain], catalogs: [:], fleetFileSha256: "x").venues[0].recoveryPoint
        #expect(empty == .init(seconds: until.timeIntervalSince(audit.since), at: until, restorableTo: audit.since, source: .periodStart))

        // Every format carries it.
        let json = try #require(try JSONSerialization.jsonObject(with: report.encoded()) as? [String: Any])
        let venues = try #require(json["venues"] as? [[String: Any]])
        let encoded = try #require(venues.first { $0["slug"] as? String == "archived" }?["recovery_point"] as? [String: Any])
        #expect(encoded["seconds"] as? Double == 28_800 && encoded["source"] as? String == "archive", "\(encoded)")
        #expect(encoded["at"] as? String == "2026-11-18T12:00:00.000Z" && encoded["restorable_to"] as? String == "2026-11-18T04:00:00.000Z")
        #expect(try ComplianceReport.decode(report.encoded()).venues == report.venues)
        let csv = ComplianceText.csv(report).split(separator: "\n")
        #expect(csv.first?.hasSuffix(",retention_ok,recovery_point_seconds,recovery_point_source") == true)
        #expect(csv.filter { $0.hasPrefix("archived,") }.count == 5 && csv.filter { $0.hasPrefix("archived,") }.allSatisfy { $0.hasSuffix(",28800,archive") })
        #expect(csv.contains { $0.hasPrefix("unreadable,") && $0.hasSuffix(",86400,backup") })
        #expect(csv.contains { $0.hasPrefix("plain,") && $0.hasSuffix(",172800,backup") })
        let markdown = ComplianceText.markdown(report)
        #expect(markdown.contains("| venue | verdict | monitored since | days covered | longest gap | recovery point | last restore test |"))
        #expect(markdown.contains("| archived | ") && markdown.contains(" UTC | 8h 0m (WAL archive) | "), "\(markdown)")
        #expect(markdown.contains(" UTC | 24h 0m (backups) | ")
                && markdown.contains(" | 2d 0h from 2026-11-17 02:00 UTC | 2d 0h (backups) | "), "absolute times beside the gap")
        let html = try ComplianceHTML.render(report)
        #expect(html.contains("<th scope=\"col\">recovery point</th>") && html.contains("<td>8h 0m (WAL archive)</td>"))
    }

    @Test(arguments: [(42.4, "42s (WAL archive)"), (845.0, "14m 5s (WAL archive)"), (3600.0, "1h 0m (WAL archive)"), (93_600.0, "26h 0m (WAL archive)")])
    func recoveryPointsAreShownToTheSecondUnderAnHour(seconds: Double, text: String) {
        let point = ComplianceReport.RecoveryPoint(seconds: seconds, at: until, restorableTo: until.addingTimeInterval(-seconds), source: .archive)
        #expect(ComplianceText.recoveryPointText(point) == text)
    }
}

/// The page as an auditor reads it (issue 21.10).
extension ComplianceTests {
    @Test func aVenueOnboardedMidPeriodIsJudgedFromItsFirstBackupOrAttempt() throws {
        let root = try scratchDirectory("compliance-onboarded")
        let built = Built()
        let fresh = testVenue("fresh", url: "postgresql://nowhere/{database}", directory: root + "/backups")
        let newbie = testVenue("newbie", url: "postgresql://nowhere/{database}", directory: root + "/backups")
        for index in 25..<30 { try put(fresh, day: index, built: built, verified: index == 29) }
        for index in 20..<30 { try put(newbie, day: index, built: built, verified: index == 29) }
        // newbie's first attempt, on day 18, failed: it was in the fleet from then on.
        var history = BackupHistory()
        let attempt = backupTime(18, atHour: 3)
        history.failed["newbie"] = [.init(at: attempt, error: "connection refused")]
        history.attempts["newbie"] = [(attempt, true)] + (20..<30).map { (backupTime($0), false) }
        let fleet = Fleet(path: root + "/fleet.yaml", venues: [fresh, newbie], reportsDirectory: root + "/reports")
        let audit = ComplianceAudit(fleet: fleet, days: 30, until: until, history: history)
        let report = audit.report(venues: fleet.venues, catalogs: Dictionary(uniqueKeysWithValues: fleet.venues.map { ($0.slug, BackupCatalog(venue: $0)) }),
                                  fleetFileSha256: "x")
        let rows = Dictionary(uniqueKeysWithValues: report.venues.map { ($0.slug, $0) })
        let f = try #require(rows["fresh"]), n = try #require(rows["newbie"])
        #expect(f.monitoredSince == backupTime(25) && f.daysInScope == 5 && f.coveredDays == 5)
        #expect(f.days.prefix(25).allSatisfy { $0.state == .notInScope } && f.days[25].state == .complete)
        #expect(f.verdict == .compliant, "not missing before it joined: \(f.reasons)")
        #expect(f.longestGap?.from == backupTime(25) && f.recoveryPoint?.seconds == day)
        #expect(n.monitoredSince == attempt && n.daysInScope == 12 && n.coveredDays == 10)
        #expect(n.days[17].state == .notInScope && n.days[18].state == .failed && n.days[19].state == .missing)
        #expect(n.reasons.map(\.code) == [.recoveryPoint] && n.longestGap == .init(from: attempt, to: backupTime(20), seconds: backupTime(20).timeIntervalSince(attempt)))
        #expect(report.summary.venueDays == 5 + 12 && report.summary.coveredVenueDays == 15)
        let csv = ComplianceText.csv(report).split(separator: "\n")
        #expect(csv.contains { $0.hasPrefix("fresh,gwi_pos_fresh,2026-10-22,not-in-scope,0,,,0,compliant,,5,30,2026-11-16T02:00:00.000Z,") }, "\(csv.prefix(3))")
    }

    @Test func theProvenanceCommandLineCarriesNoSecret() throws {
        var venue = testVenue("vault", url: "postgresql://ops:Url-Pass-31@db.example/{database}", directory: "/nonexistent")
        venue.passwordEnv = "VAULT_PW"
        let environment = ["VAULT_PW": "env-secret-77", "AWS_SECRET_ACCESS_KEY": "aws-secret-55", "HOME": "/home/ops"]
        let arguments = ["gwi-fleet", "compliance", "--password", "hunter2x", "--api-key=abcd1234", "--fleet", "/srv/env-secret-77/fleet.yaml",
                         "postgresql://ops:Url-Pass-31@db.example/x", "--out", "/tmp/aws-secret-55.html", "--since", "30d", "--token", "t0k3n"]
        let provenance = ComplianceReport.Provenance.current(version: "gwi-fleet test", arguments: arguments, venues: [venue], environment: environment)
        #expect(provenance.commandLine == ["gwi-fleet", "compliance", "--password", "***", "--api-key=***", "--fleet", "/srv/***/fleet.yaml",
                                           "postgresql://ops:***@db.example/x", "--out", "/tmp/***.html", "--since", "30d", "--token", "***"])
        #expect(provenance.version == "gwi-fleet test" && !provenance.host.isEmpty && !provenance.user.isEmpty)

        // On the page: every secret gone, the redacted line shown.
        let fleet = Fleet(path: "/srv/fleet.yaml", venues: [venue], reportsDirectory: "/nonexistent")
        var report = ComplianceAudit(fleet: fleet, days: 2, until: until, history: BackupHistory())
            .report(venues: [venue], catalogs: [:], fleetFileSha256: "x")
        report.provenance = provenance
        let page = try report.rendered(as: .html)
        for secret in ["hunter2x", "abcd1234", "Url-Pass-31", "env-secret-77", "aws-secret-55", "t0k3n"] { #expect(!page.contains(secret), "\(secret)") }
        #expect(page.contains("<td>gwi-fleet compliance --password *** --api-key=*** --fleet /srv/***/fleet.yaml"))
        // The footer states the SHA-256 of every byte before it.
        let footer = try #require(page.range(of: "\n<footer"))
        let stated = try #require(page.firstMatch(of: /<code class="page-sha256">([0-9a-f]{64})<\/code>/)).output.1
        #expect(ComplianceHTML.digestBeforeFooter(page) == String(stated) && digestOf(Data(page[...footer.lowerBound].utf8)).sha256 == String(stated))
    }

    @Test(arguments: [(45, "2026-10-07"), (31, "2026-10-21"), (90, "2026-08-23")])
    func longPeriodsWrapByWeekIntoGridsOfAtMostFourWeeks(count: Int, first: String) {
        let audit = ComplianceAudit(fleet: Fleet(path: "/x", venues: [], reportsDirectory: "/x"), days: count, until: until, history: BackupHistory())
        #expect(audit.days.first == first)
        let blocks = ComplianceHTML.Page.blocks(audit.days)
        #expect(blocks.first?.lowerBound == 0 && blocks.last?.upperBound == count && zip(blocks, blocks.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        #expect(blocks.allSatisfy { $0.count <= (count <= 31 ? 31 : 28) }, "\(blocks)")
        #expect(blocks.dropFirst().allSatisfy { ComplianceHTML.Page.weekday(audit.days[$0.lowerBound]) == 1 }, "later blocks start on a Monday: \(blocks)")
        #expect(ComplianceHTML.Page.weekday("2026-11-16") == 1 && ComplianceHTML.Page.weekday("2026-11-22") == 7)
    }
}

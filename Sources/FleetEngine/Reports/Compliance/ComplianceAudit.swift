import FleetModel
import Foundation

/// Builds a `ComplianceReport` from the backup catalogs (local or remote) and the saved reports
/// alone: no venue is touched. A pure function of what it is given and the period's end, so a
/// test can build any history and check every figure.
public struct ComplianceAudit: Sendable {
    public enum Source: String, Sendable {
        case local, remote
    }

    public var fleet: Fleet
    /// Start of the period's first UTC day.
    public var since: Date
    /// The period's end: what happened after it is not looked at.
    public var until: Date
    public var days: [String]
    public var history: BackupHistory
    public var source: Source
    /// With `--remote`: the restore tests recorded in the local catalogs, by slug and dump file
    /// name. A remote backup a local restore test checked (the same SHA-256) counts as tested.
    public var localRestoreTests: [String: [String: VerificationRecord]] = [:]

    static let day: TimeInterval = 86_400
    /// How long before the period the `check` reports are read: the last one before it says how
    /// far the archive reached at the period's start; one older than a day proves less than a
    /// nightly backup does.
    public static let checkLookback: TimeInterval = day

    /// The `count` UTC days ending with the one `until` falls in.
    public init(fleet: Fleet, days count: Int, until: Date, history: BackupHistory, source: Source = .local) {
        let count = max(1, count)
        let untilDay = (until.timeIntervalSince1970 / Self.day).rounded(.down) * Self.day
        self.fleet = fleet
        self.until = until
        self.since = Date(timeIntervalSince1970: untilDay - Double(count - 1) * Self.day)
        self.days = (0..<count).map { [since] in Self.dayString(since.addingTimeInterval(Double($0) * Self.day)) }
        self.history = history
        self.source = source
    }

    /// Which day of the period a time falls in (nil: outside it).
    func dayIndex(_ date: Date) -> Int? {
        let index = Int((date.timeIntervalSince(since) / Self.day).rounded(.down))
        return days.indices.contains(index) && date <= until ? index : nil
    }

    /// `2026-11-26`, the UTC day of a time.
    static func dayString(_ date: Date) -> String { String(Timestamp.iso8601(date).prefix(10)) }

    /// The report over `venues`; `catalogs` by slug (a venue missing from it had a catalog that
    /// could not be read: `unreadable` says why).
    public func report(venues: [Venue], catalogs: [String: BackupCatalog], unreadable: [String: String] = [:],
                       fleetFileSha256: String, generatedAt: Date = WallClock.now()) -> ComplianceReport {
        let rows = venues.map { venue in
            self.venue(venue, catalog: catalogs[venue.slug], unreadable: unreadable[venue.slug])
        }
        let enabled = rows.filter(\.enabled)
        let covered = enabled.reduce(0) { $0 + $1.coveredDays }
        let venueDays = enabled.reduce(0) { $0 + $1.daysInScope }
        let byReason = ComplianceReport.ReasonCode.allCases.compactMap { code -> ComplianceReport.ReasonCount? in
            let slugs = enabled.filter { $0.reasons.contains { $0.code == code } }.map(\.slug)
            return slugs.isEmpty ? nil : ComplianceReport.ReasonCount(reason: code, venues: slugs)
        }
        let daily = fleetDays(rows)
        let summary = ComplianceReport.Summary(
            venues: rows.count, compliant: enabled.filter(\.isCompliant).count,
            notCompliant: enabled.filter { !$0.isCompliant }.count, disabled: rows.count - enabled.count,
            byReason: byReason, venueDays: venueDays, coveredVenueDays: covered,
            coverage: venueDays == 0 ? 0 : Double(covered) / Double(venueDays),
            storedBytes: rows.reduce(0) { $0 + $1.storedBytes }, periodBytes: daily.reduce(0) { $0 + $1.bytes },
            bytesTrendPercent: Self.trend(daily), daily: daily)
        let order = rows.enumerated().sorted { a, b in
            let x = a.element, y = b.element
            return (x.enabled ? 0 : 1, x.isCompliant ? 1 : 0, x.coveredDays, -Set(x.reasons.map(\.code)).count, a.offset)
                < (y.enabled ? 0 : 1, y.isCompliant ? 1 : 0, y.coveredDays, -Set(y.reasons.map(\.code)).count, b.offset)
        }.map(\.element)
        let policy = fleet.policy
        return ComplianceReport(
            generatedAt: generatedAt, source: source.rawValue,
            period: .init(since: since, until: until, days: days),
            policy: .init(maxBackupAge: FleetDuration.format(policy.maxBackupAge), maxVerifyAge: FleetDuration.format(policy.maxVerifyAge),
                          requireOffsite: policy.requireOffsite),
            fleet: .init(path: fleet.path, fileSha256: fleetFileSha256, venuesSha256: RunReport.FleetReference(fleet).venuesSHA256),
            summary: summary, venues: order)
    }

    /// Every enabled venue's catalog: its local directory, or its remote read once per venue
    /// (`jobs` at a time, through the runner); a remote that cannot be read is named, not fatal.
    public static func catalogs(of venues: [Venue], source: Source, jobs: Int,
                                environment: [String: String?] = [:]) async -> (catalogs: [String: BackupCatalog], unreadable: [String: String]) {
        guard source == .remote else {
            return (Dictionary(venues.map { ($0.slug, BackupCatalog(venue: $0)) }, uniquingKeysWith: { first, _ in first }), [:])
        }
        let collected = CatalogCollector()
        let outcomes = await FleetRunner(jobs: jobs).run(venues) { venue in
            guard let policy = venue.backup.remote else { throw VenueSkipped(reason: "no backup.remote") }
            await collected.add(try await BackupCatalog.remote(policy, slug: venue.slug, environment: environment))
            return nil
        }
        var unreadable: [String: String] = [:]
        let enabled = Set(venues.filter(\.enabled).map(\.slug))
        for outcome in outcomes where outcome.status != .ok && enabled.contains(outcome.slug) {
            unreadable[outcome.slug] = outcome.error ?? outcome.status.rawValue
        }
        return (await collected.catalogs, unreadable)
    }

    /// The restore tests of every venue's local catalog (`localRestoreTests`): read with
    /// `--remote`, where the same backups may have been tested from the local copies.
    public static func localRestoreTests(of venues: [Venue], until: Date) -> [String: [String: VerificationRecord]] {
        var tests: [String: [String: VerificationRecord]] = [:]
        for venue in venues {
            for entry in BackupCatalog(venue: venue).entries(now: until) {
                if let record = entry.verification { tests[venue.slug, default: [:]][entry.fileName] = record }
            }
        }
        return tests
    }

    actor CatalogCollector {
        var catalogs: [String: BackupCatalog] = [:]
        func add(_ catalog: BackupCatalog) { catalogs[catalog.slug] = catalog }
    }

    // MARK: - One venue

    func venue(_ venue: Venue, catalog: BackupCatalog?, unreadable: String?) -> ComplianceReport.Venue {
        let retention = source == .remote ? (venue.backup.remote?.retention ?? venue.backup.retention) : venue.backup.retention
        let entries = (catalog?.entries(now: until) ?? []).map { asOfUntil(withLocalRestoreTest($0, slug: venue.slug)) }
            .filter { !$0.inTheFuture && $0.date <= until }
        // A catalog that could not be read says nothing about its backups: none is "gone".
        let backups = unreadable == nil ? self.backups(venue, entries: entries, retention: retention) : []
        let inPeriod = backups.filter { $0.startedAt >= since }
        let failures = failedAttempts(venue, catalog: catalog)
        let monitoredSince = firstSeen(venue.slug, backups: backups, entries: entries, failures: failures, catalog: catalog)
        // Days before the venue's first backup or attempt are not in scope: it was not in the fleet yet.
        let firstDay = monitoredSince.map { $0 < since ? 0 : (dayIndex($0) ?? self.days.count) } ?? 0
        let scopeStart = max(since, monitoredSince ?? since)
        var backupsByDay = [[ComplianceReport.Backup]](repeating: [], count: self.days.count)
        for backup in inPeriod { if let index = dayIndex(backup.startedAt) { backupsByDay[index].append(backup) } }
        var failuresByDay = [Int](repeating: 0, count: self.days.count)
        for failure in failures { if let index = dayIndex(failure.at) { failuresByDay[index] += 1 } }
        let days = self.days.indices.map { index in
            index < firstDay ? ComplianceReport.Day(day: self.days[index], state: .notInScope, offsite: nil, encrypted: nil, backups: 0, failedAttempts: 0)
                : dayRecord(self.days[index], backups: backupsByDay[index], failures: failuresByDay[index], venue: venue)
        }
        let restorePoints = backups.filter(\.isRestorePoint)
        let latestVerified = entries.compactMap { $0.state == .verified ? $0.verification?.verifiedAt : nil }.max()
        let offsiteRequired: Bool? = venue.backup.remote == nil ? nil : fleet.policy.requireOffsite
        var row = ComplianceReport.Venue(
            slug: venue.slug, database: venue.database, enabled: venue.enabled, monitoredSince: monitoredSince, verdict: .compliant, reasons: [],
            days: days, coveredDays: days.filter { $0.state == .verified || $0.state == .complete }.count,
            latestBackupAt: restorePoints.map(\.startedAt).max(),
            longestGap: longestGap(restorePoints.map(\.startedAt), from: scopeStart),
            recoveryPoint: recoveryPoint(restorePoints.map(\.startedAt), archive: history.archive[venue.slug] ?? [], from: scopeStart),
            latestVerifiedAt: latestVerified, verifyAgeSeconds: latestVerified.map { until.timeIntervalSince($0) },
            offsiteRequired: offsiteRequired,
            longestOffsiteGap: offsiteRequired == nil ? nil : longestGap(restorePoints.filter { $0.offsite == true }.map(\.startedAt), from: scopeStart),
            encryptionRequired: venue.backup.encryption != nil,
            retention: retentionFigures(venue, entries: entries, backups: backups, retention: retention, failures: failures),
            failedAttempts: failures.filter { $0.at >= since }, backups: inPeriod.sorted { $0.startedAt > $1.startedAt },
            storedBytes: entries.reduce(0) { $0 + $1.bytes })
        guard venue.enabled else { row.verdict = .disabled; return row }
        if let unreadable {
            // Unreadable is unreadable: the one reason, and no claim about what the store holds.
            let what = source == .remote ? "off-site copies could not be read" : "the backup catalog could not be read"
            row.reasons = [.init(code: .catalogUnreadable, text: "\(what): \(unreadable)")]
        } else {
            row.reasons = reasons(row, venue: venue, entries: entries, failures: failures, unreadable: nil, inPeriod: inPeriod)
        }
        row.verdict = row.reasons.isEmpty ? .compliant : .notCompliant
        return row
    }

    /// A remote entry never restore-tested there, with the local restore test of the same bytes
    /// (same file name and SHA-256): one that matched makes it verified, one whose restore did
    /// not match the manifest makes it corrupt (a local checksum failure says nothing of the remote copy).
    func withLocalRestoreTest(_ entry: CatalogEntry, slug: String) -> CatalogEntry {
        guard source == .remote, entry.state == .complete, entry.verification == nil, let manifest = entry.manifest,
              let record = localRestoreTests[slug]?[entry.fileName], record.sha256 == manifest.sha256, record.checksumOK else { return entry }
        var entry = entry
        entry.verification = record
        if record.ok {
            entry.state = .verified
        } else {
            entry.state = .corrupt
            entry.reason = record.error ?? "restore did not match the manifest"
        }
        return entry
    }

    /// When the venue was first seen backed up or attempted, as of the period's end: its oldest
    /// backup (in the catalog read, or reported taken, pruned since included) or attempt (reported or recorded).
    func firstSeen(_ slug: String, backups: [ComplianceReport.Backup], entries: [CatalogEntry], failures: [BackupHistory.FailedAttempt],
                   catalog: BackupCatalog?) -> Date? {
        var times = backups.map(\.startedAt) + entries.map(\.date) + failures.map(\.at)
        times += (history.attempts[slug] ?? []).map(\.at)
        if let attempt = catalog?.lastAttempt() { times.append(attempt.at) }
        return times.filter { $0 <= until }.min()
    }

    /// An entry as it stood at the period's end: a restore test made after it does not count.
    func asOfUntil(_ entry: CatalogEntry) -> CatalogEntry {
        var entry = entry
        if let record = entry.verification, record.verifiedAt > until {
            entry.verification = nil
            if entry.state == .verified || (entry.state == .corrupt && entry.manifest.map { $0.bytes == entry.bytes } == true) {
                entry.state = .complete
                entry.reason = nil
            }
        }
        return entry
    }

    /// The catalog's backups, and the ones the saved reports say were taken that are gone.
    func backups(_ venue: Venue, entries: [CatalogEntry], retention: RetentionPolicy) -> [ComplianceReport.Backup] {
        let offsiteNames = history.offsite[venue.slug] ?? []
        let hasRemote = venue.backup.remote != nil
        var result = entries.filter { $0.manifest != nil || $0.state == .incomplete }.map { entry in
            let manifest = entry.manifest
            let record = entry.verification
            let offsite: Bool? = !hasRemote ? nil : entry.isComplete && (source == .remote || offsiteNames.contains(entry.fileName))
            return ComplianceReport.Backup(
                state: .init(entry.state), file: entry.fileName, startedAt: entry.date,
                durationSeconds: manifest.map { $0.finishedAt.timeIntervalSince($0.startedAt) }, bytes: entry.bytes,
                purpose: manifest?.effectivePurpose.rawValue, encrypted: manifest.map { $0.encryption != nil },
                offsite: offsite, verifiedAt: record?.verifiedAt, tablesMatched: record?.tablesMatched, tables: record?.tables,
                mismatches: record?.mismatches.map(\.description) ?? [], reason: entry.reason)
        }
        let present = Set(entries.map(\.fileName))
        let pruned = (source == .remote ? history.remotePruned : history.pruned)[venue.slug] ?? []
        for taken in history.taken[venue.slug] ?? [] where !present.contains(taken.file) && taken.at <= until {
            guard !result.contains(where: { $0.file == taken.file }) else { continue }
            // On the remote, only what reached it can have gone from it.
            if source == .remote && taken.offsite != "verified" && !offsiteNames.contains(taken.file) { continue }
            let wasPruned = pruned.contains(taken.file)
            result.append(ComplianceReport.Backup(
                state: wasPruned ? .pruned : .lost, file: taken.file, startedAt: taken.at, durationSeconds: nil, bytes: taken.bytes,
                purpose: BackupPurpose.scheduled.rawValue, encrypted: taken.encrypted,
                offsite: !hasRemote ? nil : (source == .remote || taken.offsite == "verified" || offsiteNames.contains(taken.file)),
                verifiedAt: nil, tablesMatched: nil, tables: nil, mismatches: [],
                reason: wasPruned ? "deleted by prune (retention)" : "reported taken, no longer in the catalog, and no prune deleted it"))
        }
        return result
    }

    func failedAttempts(_ venue: Venue, catalog: BackupCatalog?) -> [BackupHistory.FailedAttempt] {
        var failures = (history.failed[venue.slug] ?? []).filter { $0.at <= until }
        if let attempt = catalog?.lastAttempt(), attempt.status == .failed, attempt.at <= until,
           !failures.contains(where: { $0.error == attempt.error && abs($0.at.timeIntervalSince(attempt.at)) < Self.day }) {
            failures.append(.init(at: attempt.at, error: attempt.error ?? "unknown error"))
        }
        return failures.sorted { $0.at > $1.at }
    }

    func dayRecord(_ day: String, backups: [ComplianceReport.Backup], failures: Int, venue: Venue) -> ComplianceReport.Day {
        let complete = backups.filter(\.isRestorePoint)
        let state: ComplianceReport.DayState =
            complete.contains { $0.state == .verified } ? .verified
            : !complete.isEmpty ? .complete
            : (failures > 0 || backups.contains { $0.state.isBad }) ? .failed : .missing
        return ComplianceReport.Day(
            day: day, state: state,
            offsite: venue.backup.remote == nil ? nil : complete.contains { $0.offsite == true },
            encrypted: complete.isEmpty ? nil : complete.allSatisfy { $0.encrypted == true },
            backups: backups.count, failedAttempts: failures)
    }

    /// The longest time without a newer restore point at any moment of the period (the achieved
    /// recovery point): from the last one before the period (or `start`, the period's start or
    /// the venue's first backup or attempt, when there is none) through every one in it to the period's end.
    func longestGap(_ times: [Date], from start: Date) -> ComplianceReport.Gap? {
        let sorted = times.sorted()
        let start = sorted.last { $0 < since } ?? start
        let marks = [start] + sorted.filter { $0 >= since && $0 <= until } + [until]
        return zip(marks, marks.dropFirst()).map { ComplianceReport.Gap(from: $0, to: $1, seconds: $1.timeIntervalSince($0)) }
            .max { $0.seconds < $1.seconds }
    }

    /// The recovery point objective achieved (`ComplianceReport.RecoveryPoint`). At each moment
    /// what can be restored reaches the newest restore point or, when the last `check` before that
    /// moment found PITR holding, what that check saw archived, whichever is later: WAL archived
    /// since is not proven (a check that could not read the window proves none). What could be
    /// lost grows until a newer one is known, so the worst moments are just before each backup and
    /// each check of the period, and its end. Without checks this is the longest gap.
    func recoveryPoint(_ restorePoints: [Date], archive: [BackupHistory.ArchiveSample], from start: Date) -> ComplianceReport.RecoveryPoint {
        enum Event { case backup(Date), check(Date?) }
        let events = (restorePoints.map { (at: $0, event: Event.backup($0)) } + archive.map { (at: $0.at, event: Event.check($0.recoverableTo)) })
            .filter { $0.at <= until }.sorted { $0.at < $1.at }
        var newestBackup: Date?, archived: Date?
        func apply(_ event: Event) {
            switch event {
            case .backup(let time): newestBackup = max(newestBackup ?? time, time)
            case .check(let reach): archived = reach
            }
        }
        var worst: ComplianceReport.RecoveryPoint?
        func consider(_ moment: Date) {
            // Nothing before the period: counted from its start (or the venue's first backup or
            // attempt), as the longest gap is.
            var (reach, source) = newestBackup.map { ($0, ComplianceReport.RecoveryPoint.Source.backup) } ?? (start, .periodStart)
            if let archived, archived > reach { (reach, source) = (archived, .archive) }
            let seconds = moment.timeIntervalSince(reach)
            if seconds > worst?.seconds ?? -.infinity {
                worst = .init(seconds: seconds, at: moment, restorableTo: reach, source: source)
            }
        }
        for (at, event) in events where at < since { apply(event) }
        for (at, event) in events where at >= since {
            consider(at)
            apply(event)
        }
        consider(until)
        return worst!
    }

    func retentionFigures(_ venue: Venue, entries: [CatalogEntry], backups: [ComplianceReport.Backup], retention: RetentionPolicy,
                          failures: [BackupHistory.FailedAttempt]) -> ComplianceReport.Retention {
        // Prune holds everything while the latest attempt failed: nothing is then kept past policy.
        let pruneHeld = latestAttemptFailed(venue.slug, failures)
        let pastPolicy = pruneHeld ? [] : Retention.plan(entries, retention: retention, now: until)
            .filter(\.delete).map { "\(URL(fileURLWithPath: $0.path).lastPathComponent): \($0.reason)" }
        let keepFrom = until.addingTimeInterval(-Double(retention.keepDays) * Self.day)
        let newest = backups.filter { $0.state != .corrupt && $0.state != .incomplete }.sorted { $0.startedAt > $1.startedAt }
            .prefix(retention.keepMin).map(\.file)
        let missing = backups.filter { $0.state == .lost && ($0.startedAt >= keepFrom || newest.contains($0.file)) }
            .map { "\($0.file) (\(Timestamp.iso8601($0.startedAt)))" }
        return .init(keepDays: retention.keepDays, keepMin: retention.keepMin, keptPastPolicy: pastPolicy, missing: missing,
                     ok: pastPolicy.isEmpty && missing.isEmpty)
    }

    /// `failures`: every failed attempt up to the period's end (the latest may predate the period).
    func reasons(_ row: ComplianceReport.Venue, venue: Venue, entries: [CatalogEntry], failures: [BackupHistory.FailedAttempt],
                 unreadable: String?, inPeriod: [ComplianceReport.Backup]) -> [ComplianceReport.Reason] {
        let policy = fleet.policy
        // The rules that hold at a moment are the status judge's, applied at the period's end; the
        // rest (gaps, retention, encryption) are about the whole period.
        let judged = Set(PolicyJudge(policy: policy).breaches(of: venue, entries: entries, attempt: nil, now: until).map(\.rule))
        let maxBackupAge = Double(policy.maxBackupAge.components.seconds)
        var reasons: [ComplianceReport.Reason] = []
        func add(_ code: ComplianceReport.ReasonCode, _ text: String) { reasons.append(.init(code: code, text: text)) }
        if let unreadable { add(.catalogUnreadable, "the backup catalog could not be read: \(unreadable)") }
        if row.coveredDays == 0 {
            add(.noBackup, "no complete backup in the period")
        } else if let gap = row.longestGap, gap.seconds > maxBackupAge {
            add(.recoveryPoint, "\(Self.duration(gap.seconds)) without a complete backup (\(Timestamp.iso8601(gap.from)) to \(Timestamp.iso8601(gap.to)); policy: \(FleetDuration.format(policy.maxBackupAge)))")
        }
        if latestAttemptFailed(row.slug, failures), let last = failures.first {
            add(.lastAttemptFailed, "the latest backup attempt failed at \(Timestamp.iso8601(last.at)): \(last.error)")
        }
        if judged.contains(.corruptLatest), let newest = PolicyJudge.damagedNewest(entries) {
            add(.corruptLatest, "the newest backup \(newest.fileName) is corrupt: \(newest.reason ?? "?")")
        }
        if judged.contains(.unverified) {
            add(.unverified, row.verifyAgeSeconds.map {
                "latest restore test \(Self.duration($0)) before the period's end (policy: \(FleetDuration.format(policy.maxVerifyAge)))"
            } ?? "never restore-tested")
        }
        if row.offsiteRequired == true, let gap = row.longestOffsiteGap, gap.seconds > maxBackupAge {
            let notOffsite = inPeriod.filter { $0.isRestorePoint && $0.offsite == false }.map(\.file)
            add(.notOffsite, "\(Self.duration(gap.seconds)) without an off-site copy (\(Timestamp.iso8601(gap.from)) to \(Timestamp.iso8601(gap.to)))"
                + (notOffsite.isEmpty ? "" : "; not off-site: " + notOffsite.joined(separator: ", ")))
        }
        if row.encryptionRequired {
            let plain = inPeriod.filter { ($0.state == .complete || $0.state == .verified) && $0.encrypted == false }.map(\.file)
            if !plain.isEmpty { add(.unencrypted, "backup.encrypt is set, but stored unencrypted: " + plain.joined(separator: ", ")) }
        }
        if !row.retention.keptPastPolicy.isEmpty {
            add(.retention, "kept past retention (keep_days \(row.retention.keepDays), keep_min \(row.retention.keepMin)) with nothing to hold them: "
                + row.retention.keptPastPolicy.joined(separator: "; "))
        }
        if !row.retention.missing.isEmpty {
            add(.retention, "gone within retention, not deleted by prune: " + row.retention.missing.joined(separator: ", "))
        }
        let rank = Dictionary(uniqueKeysWithValues: ComplianceReport.ReasonCode.allCases.enumerated().map { ($1, $0) })
        return reasons.enumerated().sorted { (rank[$0.element.code]!, $0.offset) < (rank[$1.element.code]!, $1.offset) }.map(\.element)
    }

    /// Whether the newest backup attempt at the period's end (reported, or the attempt record) failed.
    func latestAttemptFailed(_ slug: String, _ failures: [BackupHistory.FailedAttempt]) -> Bool {
        guard let latestFailure = failures.first?.at else { return false }
        let reported = (history.attempts[slug] ?? []).filter { $0.at <= until }.max { $0.at < $1.at }
        guard let reported else { return true }
        return reported.failed || latestFailure > reported.at
    }

    // MARK: - Fleet

    func fleetDays(_ rows: [ComplianceReport.Venue]) -> [ComplianceReport.FleetDay] {
        var byDay = [[ComplianceReport.Backup]](repeating: [], count: days.count)
        // Every backup taken, safety backups too: they take bytes and time like the others.
        for backup in rows.filter(\.enabled).flatMap(\.backups) where backup.state.wasComplete {
            if let index = dayIndex(backup.startedAt) { byDay[index].append(backup) }
        }
        return days.indices.map { index in
            let day = days[index], backups = byDay[index]
            let durations = backups.compactMap(\.durationSeconds)
            return ComplianceReport.FleetDay(
                day: day, backups: backups.count, bytes: backups.reduce(0) { $0 + $1.bytes },
                longestSeconds: durations.max(), meanSeconds: durations.isEmpty ? nil : durations.reduce(0, +) / Double(durations.count))
        }
    }

    static func trend(_ daily: [ComplianceReport.FleetDay]) -> Double? {
        let withBackups = daily.filter { $0.backups > 0 }
        guard withBackups.count >= 2 else { return nil }
        let width = min(7, withBackups.count / 2)
        let mean = { (days: ArraySlice<ComplianceReport.FleetDay>) in Double(days.reduce(0) { $0 + $1.bytes }) / Double(days.count) }
        let first = mean(withBackups.prefix(width)), last = mean(withBackups.suffix(width))
        guard first > 0 else { return nil }
        return ((last - first) / first * 1000).rounded() / 10
    }

    /// `2d 4h`, `26h 10m`.
    static func duration(_ seconds: TimeInterval) -> String { PolicyJudge.age(seconds) }
}

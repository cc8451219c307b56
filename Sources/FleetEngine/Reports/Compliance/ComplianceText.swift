import Foundation

/// The compliance report as Markdown or CSV: the same figures as the HTML page, from the same model.
public enum ComplianceText {
    /// One row per venue and day.
    public static func csv(_ report: ComplianceReport) -> String {
        let headers = ["venue", "database", "day", "state", "backups", "offsite", "encrypted", "failed_attempts",
                       "venue_verdict", "venue_reasons", "covered_days", "period_days", "monitored_since", "longest_gap_hours",
                       "latest_verified_at", "verify_age_hours", "retention_ok", "recovery_point_seconds", "recovery_point_source"]
        let rows = report.venues.flatMap { venue in
            let figures: [String] = [
                venue.verdict.rawValue, venue.reasons.map(\.code.rawValue).joined(separator: ";"),
                String(venue.coveredDays), String(venue.days.count), venue.monitoredSince.map(Timestamp.iso8601) ?? "",
                venue.longestGap.map { hours($0.seconds) } ?? "",
                venue.latestVerifiedAt.map(Timestamp.iso8601) ?? "", venue.verifyAgeSeconds.map(hours) ?? "", String(venue.retention.ok),
                venue.recoveryPoint.map { String(wholeSeconds($0.seconds)) } ?? "", venue.recoveryPoint?.source.rawValue ?? "",
            ]
            return venue.days.map { day in
                [venue.slug, venue.database, day.day, day.state.rawValue, String(day.backups), flag(day.offsite), flag(day.encrypted),
                 String(day.failedAttempts)] + figures
            }
        }
        return TableText.csv(headers, rows) + "\n"
    }

    public static func markdown(_ report: ComplianceReport) -> String {
        let summary = report.summary
        var lines = [
            "# Backup compliance: \(TableText.markdownText(period(report)))",
            "",
            "**\(TableText.markdownText(verdict(report)))**",
            "",
            "Generated \(when(report.generatedAt)) from the \(report.source) backup catalog and the saved reports"
                + (report.provenance.map { ", by \(TableText.markdownText($0.version)) on \(TableText.markdownText($0.host)) as \(TableText.markdownText($0.user)): `\($0.commandLine.joined(separator: " ").replacingOccurrences(of: "`", with: "'"))`" } ?? "") + ".",
            "",
            "## Fleet",
            "",
            TableText.markdown(["figure", "value"], fleetFigures(report)),
            "",
            "## Policy checked",
            "",
            TableText.markdown(["setting", "value"], policyFigures(report)),
            "",
            "## Venues (worst first)",
            "",
            TableText.markdown(venueHeaders, report.venues.map(venueRow)),
            "",
            "## Days (V verified, C complete, ! failed only, - missing, blank: not in scope (before the venue's first backup); o: off-site)",
            "",
            TableText.markdown(["venue"] + report.period.days.map { String($0.suffix(5)) },
                               report.venues.map { venue in [venue.slug] + venue.days.map(dayMark) }),
            "",
            "## Size and duration per day",
            "",
            TableText.markdown(["day", "backups", "bytes", "longest", "mean"], summary.daily.map { day in
                [day.day, String(day.backups), ByteCount.human(day.bytes), day.longestSeconds.map(seconds) ?? "",
                 day.meanSeconds.map(seconds) ?? ""]
            }),
        ]
        let details = report.venues.filter { !$0.reasons.isEmpty || !$0.failedAttempts.isEmpty || $0.backups.contains { !$0.mismatches.isEmpty || $0.reason != nil } }
        if !details.isEmpty { lines += ["", "## Details"] }
        for venue in details {
            lines += ["", "### \(TableText.markdownText(venue.slug)) (\(venue.verdict.rawValue))", ""]
            lines += venue.reasons.map { "- \($0.code.rawValue): \(TableText.markdownText($0.text))" }
            lines += venue.failedAttempts.map { "- failed attempt \(Timestamp.iso8601($0.at)): \(TableText.markdownText($0.error))" }
            for backup in venue.backups where backup.reason != nil || !backup.mismatches.isEmpty {
                lines.append("- \(TableText.markdownText(backup.file)) (\(backup.state.rawValue)): "
                             + TableText.markdownText(([backup.reason].compactMap { $0 } + backup.mismatches).joined(separator: "; ")))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - Figures shared by every format

    static let venueHeaders = ["venue", "verdict", "monitored since", "days covered", "longest gap", "recovery point", "last restore test", "off-site",
                               "encrypted", "retention", "failed attempts", "stored", "reasons"]

    static func venueRow(_ venue: ComplianceReport.Venue) -> [String] {
        [venue.slug, venue.verdict.rawValue, monitoredText(venue), "\(venue.coveredDays)/\(venue.daysInScope)",
         venue.longestGap.map { "\(age($0.seconds)) from \(minute($0.from))" } ?? "", venue.recoveryPoint.map(recoveryPointText) ?? "",
         venue.latestVerifiedAt.map { date in minute(date) + (venue.verifyAgeSeconds.map { " (\(age($0)) before the end)" } ?? "") } ?? "never",
         offsiteText(venue), encryptedText(venue), venue.retention.ok ? "kept" : "broken",
         String(venue.failedAttempts.count), ByteCount.human(venue.storedBytes),
         venue.reasons.map(\.code.rawValue).joined(separator: ", ")]
    }

    /// `42s (WAL archive)`, `14m 5s (WAL archive)`, `2d 0h (backups)`: to the second under an
    /// hour (archive lags are seconds or minutes), then as the gaps are.
    static func recoveryPointText(_ point: ComplianceReport.RecoveryPoint) -> String {
        let seconds = wholeSeconds(point.seconds)
        let amount = seconds < 60 ? "\(seconds)s" : seconds < 3600 ? "\(seconds / 60)m \(seconds % 60)s" : age(Double(seconds))
        let source = switch point.source { case .archive: "WAL archive"; case .backup: "backups"; case .periodStart: "nothing before the period" }
        return "\(amount) (\(source))"
    }

    /// The first backup or attempt's time (the days before it are not in scope).
    static func monitoredText(_ venue: ComplianceReport.Venue) -> String {
        venue.monitoredSince.map(minute) ?? "never backed up"
    }

    /// `2026-11-20 12:00:00 UTC`: every time shown is absolute, ages only beside one.
    static func when(_ date: Date) -> String {
        let iso = Timestamp.iso8601(date)
        return iso.prefix(10) + " " + iso.dropFirst(11).prefix(8) + " UTC"
    }

    /// `2026-11-20 12:00 UTC`, for the venue table's narrow columns.
    static func minute(_ date: Date) -> String { String(when(date).dropLast(7)) + " UTC" }

    static func offsiteText(_ venue: ComplianceReport.Venue) -> String {
        guard venue.offsiteRequired != nil else { return "no remote" }
        let covered = venue.days.filter { $0.offsite == true }.count
        return "\(covered)/\(venue.days.filter { $0.state == .complete || $0.state == .verified }.count) days"
    }

    static func encryptedText(_ venue: ComplianceReport.Venue) -> String {
        let days = venue.days.compactMap(\.encrypted)
        if days.isEmpty { return "-" }
        return days.allSatisfy { $0 } ? "yes" : days.contains(true) ? "partly" : "no"
    }

    static func fleetFigures(_ report: ComplianceReport) -> [[String]] {
        let summary = report.summary
        return [
            ["venues", "\(summary.venues) (\(summary.disabled) disabled)"],
            ["compliant", "\(summary.compliant)"],
            ["not compliant", "\(summary.notCompliant)"],
        ] + summary.byReason.map { ["  \($0.reason.rawValue)", "\($0.venues.count): " + $0.venues.joined(separator: ", ")] } + [
            ["venue-days covered", "\(summary.coveredVenueDays) of \(summary.venueDays) (\(percent(summary.coverage)))"],
            ["backups stored now", ByteCount.human(summary.storedBytes)],
            ["backups taken in the period", ByteCount.human(summary.periodBytes)],
            ["size trend", summary.bytesTrendPercent.map { String(format: "%+.1f%% (last days against first)", $0) } ?? "not enough days"],
        ]
    }

    static func policyFigures(_ report: ComplianceReport) -> [[String]] {
        [
            ["complete backup at most", report.policy.maxBackupAge + " apart"],
            ["restore test at most", report.policy.maxVerifyAge + " old"],
            ["off-site copy", report.policy.requireOffsite ? "required where backup.remote is set" : "not required"],
            ["fleet file", report.fleet.path],
            ["fleet file SHA-256", report.fleet.fileSha256],
            ["venues SHA-256", report.fleet.venuesSha256],
        ]
    }

    static func period(_ report: ComplianceReport) -> String {
        "\(report.period.days.first ?? "") to \(report.period.days.last ?? "") (\(report.period.days.count) days, until \(when(report.period.until)))"
    }

    static func verdict(_ report: ComplianceReport) -> String {
        let enabled = report.summary.compliant + report.summary.notCompliant
        return report.summary.notCompliant == 0 ? "All \(enabled) venues compliant"
            : "\(report.summary.notCompliant) of \(enabled) venues not compliant"
    }

    static func dayMark(_ day: ComplianceReport.Day) -> String {
        let mark = switch day.state { case .verified: "V"; case .complete: "C"; case .failed: "!"; case .missing: "-"; case .notInScope: "" }
        return mark + (day.offsite == true ? "o" : "")
    }

    static func flag(_ value: Bool?) -> String { value.map(String.init) ?? "" }
    static func hours(_ seconds: Double) -> String { String(format: "%.1f", seconds / 3600) }
    static func wholeSeconds(_ seconds: Double) -> Int { Int(seconds.rounded()) }
    static func age(_ seconds: Double) -> String { PolicyJudge.age(seconds) }
    static func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }
    static func seconds(_ value: Double) -> String { value < 60 ? String(format: "%.1f s", value) : PolicyJudge.age(value) }
}

import Foundation
import Yams

/// Turns entries into venues: the entry's own settings over `defaults:` over the built-ins, the
/// templates filled in (escaped for the URL form they go into).
public struct Resolver: Sendable {
    public let baseDirectory: String
    /// A venue's `backup.max_age` when neither it nor `defaults:` set one: `policy.max_backup_age`.
    public var defaultMaxBackupAge = Venue.defaultMaxBackupAge

    public init(baseDirectory: String) {
        self.baseDirectory = baseDirectory
    }

    /// Every entry resolved; duplicates and bad entries become problems.
    public func venues(_ entries: [VenueEntry], defaults: VenueSettings, problems: inout [FleetFileProblem]) -> [Venue] {
        var venues: [Venue] = []
        var firstLineOfSlug: [String: Int] = [:]
        for entry in entries {
            if let first = firstLineOfSlug[entry.slug] {
                problems.append(FleetFileProblem(venue: entry.slug, key: "slug", line: entry.line,
                                                 message: "duplicate slug; already used by the venue at line \(first)"))
                continue
            }
            firstLineOfSlug[entry.slug] = entry.line ?? 0
            if let venue = venue(entry, defaults: defaults, problems: &problems) { venues.append(venue) }
        }
        return venues
    }

    public func venue(_ entry: VenueEntry, defaults: VenueSettings, problems: inout [FleetFileProblem]) -> Venue? {
        let slug = entry.slug
        var valid = true
        func problem(_ key: String, _ message: String) {
            problems.append(FleetFileProblem(venue: slug, key: key, line: entry.line,
                                             message: entry.line == nil ? "\(message) (from \(entry.origin))" : message))
            valid = false
        }
        if !FleetFile.isValidSlug(slug) {
            problem("slug", "slug must match ^[a-z0-9]+([-_][a-z0-9]+)*$ (lowercase letters and digits, single - or _ between them), at most 50 characters")
        }
        let underscored = slug.replacingOccurrences(of: "-", with: "_")
        let database = (entry.database ?? FleetFile.defaultDatabaseTemplate)
            .replacingOccurrences(of: "{slug_}", with: underscored).replacingOccurrences(of: "{slug}", with: slug)
        if let message = FleetFile.databaseNameProblem(database) { problem(entry.database == nil ? "slug" : "database", message) }
        // `verify.scratch_url` and `verify.scratch.neon` are one choice: the venue's overrides the defaults'.
        var base = defaults
        if entry.settings.scratchNeon != nil { base.scratchURL = nil }
        if entry.settings.scratchURL != nil { base.scratchNeon = nil }
        let resolved = entry.settings.over(base)
        guard let urlTemplate = resolved.url else {
            // A url that is present but broken has its own problem already.
            if !resolved.urlWritten { problem("url", "missing: set `url` on the venue or in `defaults:`") }
            return nil
        }
        if let timeout = resolved.timeout, timeout > Venue.maximumTimeout {
            problem("timeout", "at most \(FleetDuration.format(Venue.maximumTimeout)), got \(FleetDuration.format(timeout))")
        }
        if resolved.scratchURL != nil && resolved.scratchNeon != nil {
            problem("verify.scratch", "give `verify.scratch_url` or `verify.scratch.neon`, not both")
        }
        guard valid else { return nil }
        let fill = { (template: String) in Self.fill(template, slug: slug, underscored: underscored, database: database) }
        return Venue(
            slug: slug, database: database, url: fill(urlTemplate), directURL: resolved.directURL.map(fill),
            passwordEnv: resolved.passwordEnv, tags: entry.tags ?? [], enabled: entry.enabled ?? true,
            timeout: resolved.timeout ?? Fleet.defaultTimeout,
            backup: BackupPolicy(directory: absolute(resolved.backupDirectory ?? FleetFile.defaultBackupDirectory),
                                 format: resolved.backupFormat ?? .custom,
                                 retention: RetentionPolicy(keepDays: resolved.keepDays ?? RetentionPolicy.defaultKeepDays,
                                                            keepMin: resolved.keepMin ?? RetentionPolicy.defaultKeepMin,
                                                            calendar: resolved.keepCalendar),
                                 compression: resolved.compression ?? .default, encryption: resolved.encryption,
                                 remote: resolved.remote),
            scratchURL: resolved.scratchURL.map(fill),
            verifyTables: resolved.verifyTables ?? Venue.defaultVerifyTables,
            verifyNoOwner: resolved.verifyNoOwner ?? false,
            maxBackupAge: resolved.maxAge ?? defaultMaxBackupAge,
            line: entry.line, kind: entry.kind ?? .venue, pitr: resolved.pitr,
            origin: entry.line.map { entry.origin == "fleet file" ? "fleet file line \($0)" : entry.origin } ?? entry.origin,
            scratchNeon: resolved.scratchNeon)
    }

    /// Fills `{database}`, `{slug}` and `{slug_}` into a connection string: percent-encoded in a
    /// URI, quoted in `key=value` form, so a name can never add a parameter or another host.
    public static func fill(_ template: String, slug: String, underscored: String, database: String) -> String {
        guard template.contains("{") else { return template }
        let isURI = template.hasPrefix("postgresql://") || template.hasPrefix("postgres://")
        let escape = { (value: String) -> String in
            if isURI { return ConnectionText.percentEncoded(value) }
            let safe = value.allSatisfy { !$0.isWhitespace && $0 != "'" && $0 != "\\" }
            return safe ? value : "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        }
        return template.replacingOccurrences(of: "{database}", with: escape(database))
            .replacingOccurrences(of: "{slug_}", with: escape(underscored)).replacingOccurrences(of: "{slug}", with: escape(slug))
    }

    func absolute(_ directory: String) -> String {
        directory.hasPrefix("/") ? directory
            : URL(fileURLWithPath: directory, relativeTo: URL(fileURLWithPath: baseDirectory, isDirectory: true)).standardizedFileURL.path
    }
}

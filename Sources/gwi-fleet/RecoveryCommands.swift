import ArgumentParser
import FleetEngine
import FleetModel
import Foundation

struct BackupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backups",
        abstract: "List each venue's backups: time, age, size, format and state (complete, verified, corrupt, incomplete).",
        discussion: "Example: gwi-fleet backups --venue joes-bar")

    @Flag(name: .long, help: "Re-hash every complete backup against its manifest; a changed one is marked corrupt (exit 1).")
    var check = false

    @Flag(name: .long, help: "List what each venue's backup.remote holds (sizes and stored MD5 against the manifests), with no local state.")
    var remote = false

    @OptionGroup var fileOptions: FleetFileOptions
    @OptionGroup var selectionOptions: SelectionOptions
    var options: FleetOptions { FleetOptions(fileOptions, selection: selectionOptions) }

    func run() async throws {
        let session = try await CommandSession(options: options, command: "backups")
        let now = WallClock.now()
        var rows: [[String]] = []
        var venues: [BackupCatalog.Listing] = []
        var corrupt = 0
        var unreadable = 0
        var failedAttempts = 0
        for venue in session.venues {
            let entries: [CatalogEntry]
            if remote {
                guard let policy = venue.backup.remote else {
                    rows.append([venue.slug, "(no backup.remote)", "", "", "", "", "", ""])
                    continue
                }
                do {
                    entries = try await BackupCatalog.remote(policy, slug: venue.slug).entries(now: now)
                } catch {
                    Terminal.error("\(venue.slug): off-site copies could not be read: \(error)")
                    rows.append([venue.slug, "(off-site copies could not be read)", "", "", "", "", "", ""])
                    unreadable += 1
                    continue
                }
            } else {
                let catalog = BackupCatalog(venue: venue)
                entries = check ? try await catalog.recheck(now: now) : catalog.entries(now: now)
            }
            corrupt += entries.filter { $0.state == .corrupt }.count
            // The last attempt failed: say so, whatever the older backups look like.
            if !remote, let attempt = BackupCatalog.lastAttempt(of: venue), attempt.status == .failed {
                failedAttempts += 1
                rows.append([venue.slug, "(last attempt failed \(Timestamp.iso8601(attempt.at).prefix(16).replacingOccurrences(of: "T", with: " ")): \(attempt.error ?? "?"))",
                             "", "", "", "", "", ""])
            }
            venues.append(BackupCatalog.listing(of: venue, entries: entries, now: now))
            if entries.isEmpty { rows.append([venue.slug, "(no backups)", "", "", "", "", "", ""]) }
            for entry in entries {
                var state = entry.state.rawValue
                if let record = entry.verification, entry.state == .verified {
                    state += " " + Timestamp.iso8601(record.verifiedAt).prefix(16).replacingOccurrences(of: "T", with: " ")
                }
                if let reason = entry.reason { state += " (\(reason))" }
                if entry.inTheFuture { state += " (dated in the future: never latest)" }
                rows.append([venue.slug, entry.fileName, Timestamp.iso8601(entry.date).prefix(19).replacingOccurrences(of: "T", with: " ") + "Z",
                             Terminal.age(now.timeIntervalSince(entry.date)), ByteCount.human(entry.bytes),
                             entry.manifest?.format.rawValue ?? "", entry.manifest?.effectivePurpose.rawValue ?? "", state])
            }
        }
        if options.json {
            Terminal.out(JSONCoding.text(["venues": venues]), terminator: "")
        } else {
            Terminal.out(Terminal.table(headers: ["VENUE", "BACKUP", "TIME (UTC)", "AGE", "SIZE", "FORMAT", "PURPOSE", "STATE"], rows: rows))
        }
        if check || remote {
            // Only what was read is vouched for: an unreadable remote matches nothing.
            if unreadable > 0 { Terminal.error("off-site copies of \(unreadable) venues could not be read: nothing is said about them") }
            if corrupt > 0 { Terminal.error("\(corrupt) corrupt backups") }
            else if unreadable == 0 { Terminal.error("every backup matches its manifest", level: .info) }
            else { Terminal.error("every backup that could be read matches its manifest", level: .info) }
            if corrupt > 0 || unreadable > 0 { throw ExitCode(ExitCodes.venueFailed) }
        }
        if failedAttempts > 0 {
            Terminal.error("\(failedAttempts) venues whose latest backup attempt failed", level: .warning)
            throw ExitCode(ExitCodes.venueFailed)
        }
    }
}

struct VerifyCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Restore-test backups: checksum, restore into a scratch database, compare every table's rows with the manifest.",
        discussion: "Example: gwi-fleet verify --venue joes-bar   (or --backup gwi_pos_joes_bar-20261126T020000Z.dump.zst, or --all)")

    @Flag(name: .long, help: "Verify every backup with a manifest, not just the latest.")
    var all = false

    @Option(name: .long, help: "Verify this backup (its venue only): a path, or a bare file name looked up in its venue's directory.")
    var backup: String?

    @Option(name: .long, help: "local (the backup directories) or remote (backup.remote, downloaded to a private temporary directory).")
    var from: BackupSource = .local

    @OptionGroup var venueOptions: VenueCommandOptions
    /// A backup named by its path selects its venue (the directory it sits in).
    var options: FleetOptions {
        var options = venueOptions.options
        if let backup, backup.contains("/"), options.venue.isEmpty, options.tag.isEmpty {
            options.venue = [BackupCatalog.venueSlug(ofBackupFile: backup)]
        }
        return options
    }

    func validate() throws {
        if all && backup != nil { throw ValidationError("--all and --backup exclude each other") }
    }

    var backupName: String? { backup.flatMap { $0.contains("/") ? nil : $0 } }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        let selection: VerifyOperation.Selection = backup.map { .file($0) } ?? (all ? .all : .latest)
        var operation = VerifyOperation(tools: try await locateTools(), selection: selection, source: from)
        let branches = VerifyScratchBranches()
        operation.scratchBranches = branches
        return RunPlan(operation: { [operation] in try await operation.run($0) },
                       conclude: { _ in FleetRun.Conclusion(problems: await branches.finish()) })
    }
}

struct RestoreCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a venue from a backup: into a new database (--as), by replacing its database, or --in-place.",
        discussion: "Example: gwi-fleet restore joes-bar --as gwi_pos_joes_bar_copy   (then --yes to replace the live database)")

    @Argument(help: "The venue's slug.")
    var slug: String

    @Option(name: .long, help: "A backup: a path, a bare file name looked up in the venue's directory, or `latest` (the newest complete backup).")
    var backup: String = "latest"

    @Option(name: .customLong("as"), help: "Restore into this new database instead (refused if it exists).")
    var newDatabase: String?

    @Flag(name: .long, help: "Restore over the live database in one transaction (where databases cannot be renamed).")
    var inPlace = false

    @Flag(name: .long, help: "Allow replacing a database that holds data (a safety backup is taken first).")
    var yes = false

    @Option(name: .long, help: "local (the backup directory) or remote (backup.remote: works with no local state at all).")
    var from: BackupSource = .local

    @Option(name: .long, help: "Restore the database as it was at this moment (the venue's pitr: provider): RFC 3339, e.g. 2026-12-01T14:32:05Z or '2026-12-01 14:32:05+02:00'.")
    var at: String?

    @Flag(name: .customLong("dry-run"), help: "With --at: print the plan (recovery window, base backup, target); touch nothing.")
    var dryRun = false

    @OptionGroup var fileOptions: FleetFileOptions
    @OptionGroup var runOptions: RunOptions
    var options: FleetOptions {
        var options = FleetOptions(fileOptions, run: runOptions)
        options.venue = [slug]
        return options
    }

    func validate() throws {
        if newDatabase != nil && inPlace { throw ValidationError("--as and --in-place exclude each other") }
        if let at {
            guard let moment = RestoreOperation.parseMoment(at) else {
                throw ValidationError("--at: `\(at)` is not a valid RFC 3339 time with its zone (a date and time that exist, write e.g. 2026-12-01T14:32:05Z or '2026-12-01 14:32:05+02:00')")
            }
            if moment > WallClock.now() { throw ValidationError("--at: \(at) is in the future; nothing was touched") }
            if backup != "latest" { throw ValidationError("--at and --backup exclude each other: --at makes its own backup of that moment") }
            if from != .local { throw ValidationError("--at recovers from the venue's pitr: provider; --from does not apply") }
        } else if dryRun {
            throw ValidationError("--dry-run goes with --at")
        }
    }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        if let venue = session.venues.first, !venue.enabled {
            Terminal.error("restore refused: venue `\(venue.slug)` is disabled (\(venue.origin)); enable it first if its database should come back")
            throw ExitCode(ExitCodes.venueFailed)
        }
        let target: RestoreOperation.Target = newDatabase.map { .newDatabase($0) } ?? (inPlace ? .inPlace : .replace)
        var restore = RestoreOperation(tools: try await locateTools(), backupFile: backup == "latest" ? nil : backup,
                                       target: target, confirmed: yes)
        restore.source = from
        restore.at = at.flatMap(RestoreOperation.parseMoment)
        restore.dryRun = dryRun
        restore.reportsDirectory = session.fleet.reportsDirectory
        let operation = restore
        return RunPlan(operation: { try await operation.run($0) }, audited: !dryRun)
    }
}

struct PruneCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Apply backup.retention: delete old complete backups, keeping keep_min and the newest verified.",
        discussion: "Example: gwi-fleet prune --dry-run")

    @Flag(name: .long, help: "List what would be deleted; delete nothing.")
    var dryRun = false

    @OptionGroup var venueOptions: VenueCommandOptions
    var options: FleetOptions { venueOptions.options }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        let operation = PruneOperation(dryRun: dryRun)
        return RunPlan(operation: { try await operation.run($0) }, audited: !dryRun)
    }

    func present(_ report: RunReport, savedAt path: String?, session: CommandSession) throws -> Never {
        if !options.json {
            for outcome in report.outcomes { outcome.result(as: PruneResult.self)?.decisionLines(venue: outcome.slug).forEach { Terminal.out($0) } }
        }
        session.finish(report, savedAt: path)
    }
}

/// Where `verify` and `restore` take backups from (`--from local|remote`).
extension BackupSource: ExpressibleByArgument {}

struct UploadCommand: VenueCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Copy to backup.remote every complete local backup whose remote copy is missing or differs (after a failed night).",
        discussion: "Each copy is checked (size and hash) before its manifest is uploaded, last. Idempotent. Example: gwi-fleet upload --tag west")

    @OptionGroup var venueOptions: VenueCommandOptions
    var options: FleetOptions { venueOptions.options }

    func plan(_ session: CommandSession) async throws -> RunPlan {
        let operation = UploadOperation()
        return RunPlan(operation: { try await operation.run($0) }, audited: true)
    }
}

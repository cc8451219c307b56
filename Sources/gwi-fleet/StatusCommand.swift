import ArgumentParser
import FleetEngine
import FleetModel
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "The fleet at a glance from the catalog and the latest reports (no venue is touched), each venue judged against policy:.",
        discussion: """
            Verdicts, worst first: failed (last attempt failed), corrupt-latest, stale (no complete backup within \\
            policy.max_backup_age), unverified (no restore test within policy.max_verify_age), not-offsite, ok. \\
            Exit 1 when any venue breaks the policy: usable as a monitoring check. Example: gwi-fleet status --json
            """)

    @OptionGroup var fileOptions: FleetFileOptions
    @OptionGroup var selectionOptions: SelectionOptions
    var options: FleetOptions { FleetOptions(fileOptions, selection: selectionOptions) }

    func run() async throws {
        let session = try await CommandSession(options: options, command: "status")
        let status = FleetStatus(fleet: session.fleet)
        let rows = await status.rows(session.venues)
        let broken = rows.filter { $0.verdict != .ok && $0.verdict != .disabled }
        if options.json {
            let policy = session.fleet.policy
            Terminal.out(JSONCoding.text(StatusJSON(
                policy: .init(maxBackupAge: FleetDuration.format(policy.maxBackupAge), maxVerifyAge: FleetDuration.format(policy.maxVerifyAge),
                              requireOffsite: policy.requireOffsite),
                venues: rows.map(FleetStatus.RowJSON.init))), terminator: "")
        } else {
            let now = WallClock.now()
            Terminal.out(Terminal.table(headers: ["VENUE", "VERDICT", "LATEST BACKUP", "LAST ATTEMPT", "LAST VERIFY", "LAST SWEEP", "WHY"], rows: rows.map { row in
                [row.venue.slug, row.verdict.rawValue,
                 row.latest.map { "\(Terminal.age(now.timeIntervalSince($0.date))) ago, \($0.state.rawValue)" } ?? "none",
                 row.lastAttempt.map { "\($0.status.rawValue) \(Terminal.age(now.timeIntervalSince($0.at))) ago" + ($0.offsite.map { ", offsite \($0)" } ?? "") } ?? "none",
                 (row.lastVerified.map { Terminal.age(now.timeIntervalSince($0)) + " ago" } ?? "never")
                    + (row.verifyRun?.hasPrefix("failed") == true ? ", last run failed" : ""),
                 row.sweep.map { String($0.prefix(40)) } ?? "",
                 (row.reasons + (row.verifyRun?.hasPrefix("failed") == true ? ["last verify run " + row.verifyRun!] : [])).joined(separator: "; ")]
            }))
            Terminal.out(broken.isEmpty ? "\(rows.count) venues, all within policy"
                         : "\(broken.count) of \(rows.count) venues break the policy: " + broken.prefix(10).map { "\($0.venue.slug) (\($0.verdict.rawValue))" }.joined(separator: ", ")
                           + (broken.count > 10 ? ", …" : ""))
        }
        throw ExitCode(broken.isEmpty ? ExitCodes.ok : ExitCodes.venueFailed)
    }
}

/// `status --json`.
struct StatusJSON: Encodable {
    struct Policy: Encodable {
        var maxBackupAge, maxVerifyAge: String
        var requireOffsite: Bool
        enum CodingKeys: String, CodingKey { case maxBackupAge = "max_backup_age", maxVerifyAge = "max_verify_age", requireOffsite = "require_offsite" }
    }
    var policy: Policy
    var venues: [FleetStatus.RowJSON]
}

import Foundation

/// What an `exec` run did to a venue after taking its pre-exec backup, as its report says: the
/// run, when it finished, how the command ended, and whether the venue was rolled back. `restore`
/// reads it when "latest" is a pre-exec backup, to say that restoring it undoes that run.
public struct ExecRunRecord: Sendable, Equatable {
    public var runID: String
    public var finishedAt: Date
    public var exitCode: ExecResult.Exit?
    /// The venue was put back to the backup (a rollback that worked): the database is as the backup holds it.
    public var rolledBack: Bool

    /// `exec run 20261126T134501Z-3f9a2c1d (finished 2026-11-26T13:52:10Z, exit 0)`
    public var description: String {
        let exit = exitCode.map { switch $0 { case .code(let code): "exit \(code)"; case .signal(let signal): signal } } ?? "stopped"
        return "exec run \(runID) (finished \(Timestamp.iso8601(finishedAt)), \(exit)\(rolledBack ? ", rolled back" : ""))"
    }

    /// The exec run of `slug` whose pre-exec backup is `backupFile`, from the exec reports in
    /// `directory` (a run's own report, or its merged one); nil when none names it (a run killed
    /// before its report, or reports kept elsewhere).
    public static func find(backupFile: String, slug: String, in directory: String) -> ExecRunRecord? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("exec-") && $0.hasSuffix(".json") }
        for name in names.sorted().reversed() {
            guard let report = try? RunReport.read(directory + "/" + name), report.command == "exec" else { continue }
            for outcome in report.outcomes where outcome.slug == slug {
                guard let result = outcome.result(as: ExecResult.self), let backup = result.backup,
                      URL(fileURLWithPath: backup).lastPathComponent == backupFile else { continue }
                return ExecRunRecord(runID: report.runID, finishedAt: report.finishedAt, exitCode: result.exitCode,
                                     rolledBack: result.rolledBack == true)
            }
        }
        return nil
    }

    /// The newest exec run that ran its command on `slug` after `date` (a backup's end) and did
    /// not roll it back: `exec --no-backup` changes a venue without any pre-exec backup.
    public static func latest(after date: Date, slug: String, in directory: String) -> ExecRunRecord? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("exec-") && $0.hasSuffix(".json") }
        var best: ExecRunRecord?
        for name in names {
            guard let report = try? RunReport.read(directory + "/" + name), report.command == "exec", report.finishedAt > date else { continue }
            for outcome in report.outcomes where outcome.slug == slug && outcome.status != .skipped {
                guard let result = outcome.result(as: ExecResult.self), result.exitCode != nil, result.rolledBack != true else { continue }
                if best.map({ report.finishedAt > $0.finishedAt }) ?? true {
                    best = ExecRunRecord(runID: report.runID, finishedAt: report.finishedAt, exitCode: result.exitCode, rolledBack: false)
                }
            }
        }
        return best
    }
}

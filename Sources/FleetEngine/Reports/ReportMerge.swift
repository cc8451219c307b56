import Foundation

/// `gwi-fleet report merge`: the shard reports of one split run made into one report of the same
/// format, after checking that they belong together and that every venue was covered exactly once.
public enum ReportMerge {
    /// What a merge made: the merged report (nil when the inputs are not one run) and every problem.
    public struct Result: Sendable {
        public var report: RunReport?
        public var problems: [String]
    }

    /// Merges `(path, report)` pairs. Reports of different runs (run id, command, fleet hash, shard
    /// count) are refused: the shards of one run share its run id (`GWI_RUN_ID`), so a shard of
    /// another run can never stand in for a missing one. Missing or repeated shards and venues
    /// covered zero times or twice are problems of the merged report, which then fails.
    public static func merge(_ inputs: [(path: String, report: RunReport)]) -> Result {
        var refusals: [String] = []
        let shards = inputs.compactMap { input in input.report.shard.map { (input.path, input.report, $0) } }
        for input in inputs where input.report.shard == nil || input.report.shard?.mergedFrom != nil {
            refusals.append("\(input.path) is not a shard report (run with --shard)")
        }
        guard let first = shards.first else { return Result(report: nil, problems: refusals + ["no shard reports to merge"]) }
        let runs = Dictionary(grouping: shards, by: { $0.1.runID })
        if runs.count > 1 {
            refusals.append("the shard reports come from \(runs.count) runs: " + runs.keys.sorted().map { id in
                "run \(id.isEmpty ? "(no run id)" : id) (" + runs[id]!.map { "\($0.0), shard \($0.2.index)/\($0.2.count)" }.joined(separator: "; ") + ")"
            }.joined(separator: ", ") + "; every shard of one run shares its run id (set GWI_RUN_ID to the same value for each)")
        }
        for (path, report, shard) in shards.dropFirst() {
            if report.command != first.1.command { refusals.append("\(path) is a `\(report.command)` run, \(first.0) a `\(first.1.command)` run") }
            if report.fleet.venuesSHA256 != first.1.fleet.venuesSHA256 {
                refusals.append("\(path) ran on another venue list (fleet hash \(report.fleet.venuesSHA256.prefix(12))…, not \(first.1.fleet.venuesSHA256.prefix(12))…)")
            }
            if shard.count != first.2.count { refusals.append("\(path) is shard \(shard.index)/\(shard.count) of a run split \(shard.count) ways, \(first.0) one split \(first.2.count) ways") }
        }
        var problems: [String] = []
        let count = first.2.count
        var byIndex: [Int: [String]] = [:]
        for (path, _, shard) in shards { byIndex[shard.index, default: []].append(path) }
        for index in 0..<count {
            switch byIndex[index]?.count ?? 0 {
            case 0: problems.append("shard \(index)/\(count) is missing")
            case 1: break
            default: problems.append("shard \(index)/\(count) appears \(byIndex[index]!.count) times: " + byIndex[index]!.joined(separator: ", "))
            }
        }
        // Every venue of the run, exactly once.
        let expected = first.2.allVenues
        var coveredBy: [String: [String]] = [:]
        for (_, report, shard) in shards {
            for outcome in report.outcomes { coveredBy[outcome.slug, default: []].append("\(shard.index)/\(shard.count)") }
        }
        let missing = expected.filter { coveredBy[$0] == nil }
        if !missing.isEmpty {
            problems.append("\(missing.count) venues covered by no shard: " + missing.prefix(50).joined(separator: ", ") + (missing.count > 50 ? ", …" : ""))
        }
        // A venue twice only because its shard was given twice is said once, by that shard's problem.
        let twice = expected.filter { Set(coveredBy[$0] ?? []).count > 1 }
        for slug in twice.prefix(50) { problems.append("venue \(slug) covered \(coveredBy[slug]!.count) times (shards \(coveredBy[slug]!.joined(separator: ", ")))") }
        let unknown = coveredBy.keys.filter { !expected.contains($0) }.sorted()
        if !unknown.isEmpty { problems.append("venues in no shard's venue list: " + unknown.joined(separator: ", ")) }
        guard refusals.isEmpty else {
            return Result(report: nil, problems: ["the reports are not one run, nothing was merged: "] + refusals + problems)
        }

        // One outcome per venue, in the run's order; the first shard's copy of a duplicate.
        let reports = shards.sorted { $0.2.index < $1.2.index }.map(\.1)
        var outcomeBySlug: [String: VenueOutcome] = [:]
        for report in reports { for outcome in report.outcomes where outcomeBySlug[outcome.slug] == nil { outcomeBySlug[outcome.slug] = outcome } }
        let outcomes = expected.compactMap { outcomeBySlug[$0] } + unknown.compactMap { outcomeBySlug[$0] }
        let merged = RunReport(
            runID: first.1.runID, command: first.1.command, fleet: first.1.fleet,
            startedAt: reports.map(\.startedAt).min() ?? first.1.startedAt, finishedAt: reports.map(\.finishedAt).max() ?? first.1.finishedAt,
            interrupted: reports.contains { $0.interrupted }, outcomes: outcomes, strict: reports.contains { $0.strict },
            problems: reports.flatMap(\.problems) + problems, totals: FleetTotals.merged(reports.map(\.totals)),
            discovery: first.1.discovery,
            shard: RunReport.ShardInfo(index: 0, count: count, allVenues: expected, mergedFrom: shards.count))
        return Result(report: merged, problems: problems)
    }

    /// The shard reports of the newest run in a directory: those sharing its run id (`GWI_RUN_ID`).
    /// Shards that each made their own id are not one run to the merge, which says so.
    public static func newestRun(in directory: String) throws -> [(path: String, report: RunReport)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains("-shard") && $0.hasSuffix(".json") }
        let reports: [(path: String, report: RunReport)] = names.compactMap { name in
            let path = directory + "/" + name
            guard let report = try? RunReport.read(path), report.shard != nil else { return nil }
            return (path, report)
        }
        guard let newest = reports.max(by: { $0.report.startedAt < $1.report.startedAt }) else { return [] }
        return reports.filter { $0.report.runID == newest.report.runID }.sorted { $0.path < $1.path }
    }
}

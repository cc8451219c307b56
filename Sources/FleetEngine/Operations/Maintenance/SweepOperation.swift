import FleetBasics
import FleetModel
import Foundation
import PostgresClient

/// `gwi-fleet sweep`: the weekly job on one venue — analyze (or vacuum), sizes, counts of
/// `verify.tables`, and a health verdict: `ok`, `warning` with the reasons, or `failed`.
public struct SweepOperation: Sendable {
    public var vacuum: Bool
    public var top: Int
    public var connector: VenueConnector
    /// Database sizes from the previous sweep report, by slug, for the growth figure.
    public var previousSizes: [String: Int]
    public var now: @Sendable () -> Date
    /// Growth since the previous sweep above this share is a warning.
    public static let growthWarning = 0.5

    public init(vacuum: Bool = false, top: Int = 20, connector: VenueConnector = VenueConnector(),
                previousSizes: [String: Int] = [:], now: @escaping @Sendable () -> Date = { WallClock.now() }) {
        self.vacuum = vacuum
        self.top = top
        self.connector = connector
        self.previousSizes = previousSizes
        self.now = now
    }

    public func run(_ venue: Venue) async throws -> SweepResult {
        let connection = try await MaintenanceSession.open(venue, connector: connector, timeout: venue.timeout)
        var warnings: [String] = []
        let (statement, before, milliseconds) = try await AnalyzeOperation.analyze(on: connection, vacuum: vacuum)
        let (size, largest) = try await SizesOperation.read(on: connection, top: top)

        let now = self.now()
        let entries = BackupCatalog.entries(of: venue)
        let latest = entries.latestRestorePoint
        let verdict = PolicyJudge.freshness(of: venue, latest: latest, now: now)
        var counts: [CountsResult.Table] = []
        // The master database holds the registry, not a venue's tables.
        for table in venue.kind == .master ? [] : venue.verifyTables {
            do {
                for (name, rows) in try await CountsOperation.count([table], on: connection) {
                    counts.append(CountsResult.Table(table: name, rows: rows, backup: latest?.manifest))
                }
            } catch let error as FleetEngineError {
                // A missing table is the venue's schema speaking; anything else (a lock, a lost
                // connection) means the sweep could not do its job.
                guard case .noSuchTable = error else { throw error }
                warnings.append("\(error)")
            }
        }

        let after: [TableStats]
        do { after = try await TableStats.read(on: connection) } catch let error as PostgresError {
            throw FleetEngineError.database(step: "read pg_stat_user_tables", error)
        }
        let high = TableStats.highDead(vacuum ? after : before)
        if !high.isEmpty && !vacuum {
            warnings.append("dead tuples: " + high.map { "\($0.table) \(Int($0.deadShare * 100))%" }.joined(separator: ", ") + " (run with --vacuum)")
        }
        let neverVacuumed = after.filter { $0.lastVacuum == nil && $0.live + $0.dead >= 10_000 }.map(\.table)

        if let damaged = PolicyJudge.damagedNewest(entries) {
            warnings.append("newest backup \(damaged.fileName) is \(damaged.state.rawValue): \(damaged.reason ?? "?")")
        }
        switch verdict {
        case .none: warnings.append("no complete backup (run gwi-fleet backup)")
        case .stale:
            warnings.append("latest complete backup is \(PolicyJudge.age(now.timeIntervalSince(latest!.date))) old (backup.max_age \(FleetDuration.format(venue.maxBackupAge)))")
        case .fresh: break
        }

        var growth: Int?
        if let previous = previousSizes[venue.slug], previous > 0 {
            growth = size - previous
            let share = Double(size - previous) / Double(previous)
            if share > Self.growthWarning {
                warnings.append("database grew \(Int(share * 100))% since the previous sweep (\(ByteCount.human(previous)) → \(ByteCount.human(size)))")
            }
        }

        let lastAnalyze = after.compactMap(\.lastAnalyze).min()
        let lastVacuum = after.compactMap(\.lastVacuum).min()
        let countText = counts.map { "\($0.table.split(separator: ".").last ?? "") \($0.rows)" }.joined(separator: ", ")
        let summary = "\(ByteCount.human(size)), \(countText.isEmpty ? "no counted tables" : countText), backup \(verdict.rawValue)"
        let backup = SweepResult.Backup(verdict: verdict.rawValue, file: latest?.path,
                                        ageSeconds: latest.map { Int(now.timeIntervalSince($0.date)) },
                                        maxAgeSeconds: Int(venue.maxBackupAge.components.seconds))
        return SweepResult(statement: statement, statementMS: milliseconds, databaseBytes: size, growthBytes: growth,
                           largestTables: largest, counts: counts, backup: backup, deadTuples: after.map(\.dead).reduce(0, +),
                           highDeadTables: high.map(\.deadTable), oldestLastAnalyze: lastAnalyze, oldestLastVacuum: lastVacuum,
                           neverVacuumedTables: neverVacuumed, summary: summary, warnings: warnings)
    }

    /// Database sizes by slug from the newest `sweep-*.json` in the reports directory.
    public static func previousSizes(in reportsDirectory: String) async -> [String: Int] {
        await BlockingExecutor.shared.run { scanPreviousSizes(in: reportsDirectory) }
    }

    static func scanPreviousSizes(in reportsDirectory: String) -> [String: Int] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: reportsDirectory)) ?? [])
            .filter { $0.hasPrefix("sweep-") && $0.hasSuffix(".json") }.sorted()
        guard let newest = names.last, let report = try? RunReport.read(reportsDirectory + "/" + newest) else { return [:] }
        var sizes: [String: Int] = [:]
        for outcome in report.outcomes {
            if let bytes = outcome.result(as: SweepResult.self)?.databaseBytes { sizes[outcome.slug] = bytes }
        }
        return sizes
    }
}

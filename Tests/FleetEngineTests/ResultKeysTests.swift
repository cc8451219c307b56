import FleetEngine
import FleetModel
import Foundation
import Testing

/// The report's per-command keys, as README.md documents them, against what each typed result writes.
@Suite struct ResultKeysTests {
    /// One result of every command, every optional part set, so every key it can write is written.
    static let samples: [String: any VenueResult] = {
        let file = PruneResult.File(file: "/b/a/old.dump", reason: "older than 30 days")
        let prune = PruneResult(dryRun: false, deleted: [file], kept: [file], remoteDeleted: [file], remoteKept: [file])
        var restore = RestoreResult(backup: "/b/a/x.dump", summary: "restored")
        restore.restoredInto = "gwi_pos_a"
        restore.tablesMatched = 6
        restore.safetyBackup = "/b/a/safety.dump"
        restore.replacedDatabase = "gwi_pos_a__replaced_20261201T000000Z"
        restore.untouchedTables = ["public.stray"]
        restore.undo = "ALTER DATABASE …"
        restore.skippedNewer = ["y.dump: corrupt (checksum)"]
        restore.leftBehind = "the Neon branch gwi-fleet-pitr-a-20261201T000000Z-beef could not be deleted"
        restore.pitr = BackupManifest.PITR(provider: "pgbackrest", target: Date(timeIntervalSince1970: 100),
                                           recoveredTo: Date(timeIntervalSince1970: 99), baseBackup: "20261201-000000F")
        var exec = ExecResult(backup: "/b/a/pre.dump")
        exec.log = "/r/exec/a.log"
        exec.exitCode = .code(0)
        exec.rolledBack = true
        exec.rollback = restore
        exec.rollbackError = "none"
        let record = VerificationRecord(verifiedAt: Date(timeIntervalSince1970: 0), sha256: "ab", checksumOK: true, restoreOK: true,
                                        tablesMatched: 6, tables: 6, mismatches: [], error: nil)
        let table = SizesResult.Table(table: "public.Order", totalBytes: 3, tableBytes: 2, indexBytes: 1, toastBytes: 0)
        let counts = [CountsResult.Table(table: "public.Order", rows: 3, backup: nil)]
        let dead = AnalyzeResult.DeadTable(table: "public.Order", liveTuples: 9, deadTuples: 1, deadShare: 0.1)
        return [
            "check": CheckResult(serverVersion: "17.2", databaseBytes: 1, pgDumpVersion: "17.2", pgDumpCompatible: true),
            "query": QueryRowsResult(columns: ["n"], rows: [["1"], [nil]]),
            "backup": BackupResult(file: "/b/a/x.dump", bytes: 5, compression: "zstd:3", encrypted: true, sha256: "ab", dumpSHA256: "cd",
                                   serverVersion: "17.2", rowCounts: ["public.Order": 3], offsite: .verified("offsite:b/a/x.dump")),
            "backup --prune": BackupResult(file: "/b/a/x.dump", bytes: 5, pruned: prune),
            "upload": UploadResult(uploaded: ["x.dump"], alreadyOffsite: 2),
            "verify": VerifyResult(backups: [VerifyResult.Backup(record, file: "/b/a/x.dump")]),
            "restore": restore,
            "prune": prune,
            "exec": exec,
            "export": ExportResult(file: "/e/a.csv", bytes: 10, csvBytes: 20, columns: ["id"]),
            "analyze": AnalyzeResult(statement: "ANALYZE", tables: 6, statementMS: 12, highDeadTablesBefore: [dead]),
            "sizes": SizesResult(databaseBytes: 9, largestTables: [table]),
            "counts": CountsResult(backup: "x.dump", counts: counts),
            "sweep": SweepResult(statement: "ANALYZE", statementMS: 1, databaseBytes: 9, growthBytes: 1, largestTables: [table],
                                 counts: counts, backup: .init(verdict: "fresh", file: "/b/a/x.dump", ageSeconds: 1, maxAgeSeconds: 2),
                                 deadTuples: 1, highDeadTables: [dead], oldestLastAnalyze: "2026-12-01", oldestLastVacuum: "2026-12-01",
                                 neverVacuumedTables: ["public.Order"], summary: "9 B", warnings: ["database grew 60%"]),
        ]
    }()

    /// `command → keys` from README's table of report fields: the backticked names, leaving out what
    /// sits in parentheses (a nested value's keys) and what comes after "report-level".
    static func documentedKeys() throws -> [String: [String]] {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let table = try #require(text.range(of: "| command | fields |"))
        var result: [String: [String]] = [:]
        for line in text[table.upperBound...].split(separator: "\n").dropFirst() {
            guard line.hasPrefix("| `") else { break }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let command = cells[0].replacingOccurrences(of: "`", with: "")
            var fields = cells[1]
            if let level = fields.range(of: "report-level") { fields = String(fields[..<level.lowerBound]) }
            fields = fields.replacingOccurrences(of: #"\([^)]*\)"#, with: "", options: .regularExpression)
            result[command] = fields.matches(of: /`([a-z_]+)`/).map { String($0.1) }
        }
        return result
    }

    @Test func everyKeyTheReadmeDocumentsIsWrittenByItsCommandsResult() throws {
        let documented = try Self.documentedKeys()
        #expect(Set(documented.keys) == Set(Self.samples.keys), "README's table and the samples name the same commands")
        #expect(Set(VenueResults.types.map { $0.command }) == Set(Self.samples.keys.map { String($0.split(separator: " ")[0]) }),
                "every command's result type is registered")
        for (command, keys) in documented {
            let result = try #require(Self.samples[command])
            let outcome = VenueOutcome(slug: "a", database: "gwi_pos_a", status: .ok, result: result)
            let report = RunReport(command: command.split(separator: " ").map(String.init)[0],
                                   fleet: .init(path: "/f.yaml", venuesSHA256: "ab"), startedAt: Date(), finishedAt: Date(),
                                   interrupted: false, outcomes: [outcome])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(report.jsonText.utf8)) as? [String: Any])
            let venue = try #require((json["venues"] as? [[String: Any]])?.first)
            let missing = keys.filter { venue[$0] == nil }
            #expect(missing.isEmpty, "\(command): README documents \(missing), the report has \(venue.keys.sorted())")
        }
    }

    @Test func aResultReadBackEqualsTheOneWrittenButForItsEnvelopeText() throws {
        for (command, result) in Self.samples {
            let outcome = VenueOutcome(slug: "a", database: "gwi_pos_a", status: .ok, result: result)
            let report = RunReport(command: command.split(separator: " ").map(String.init)[0],
                                   fleet: .init(path: "/f.yaml", venuesSHA256: "ab"), startedAt: Date(), finishedAt: Date(),
                                   interrupted: false, outcomes: [outcome])
            let decoded = try RunReport.decode(Data(report.jsonText.utf8)).outcomes[0]
            #expect(decoded.summary == outcome.summary && decoded.warnings == outcome.warnings, "\(command)")
            // Re-encoding what was read gives the same bytes: no key is lost or renamed on the way.
            let again = RunReport(runID: report.runID, command: report.command, fleet: report.fleet, startedAt: report.startedAt, finishedAt: report.finishedAt,
                                  interrupted: false, outcomes: [decoded])
            #expect(again.jsonText == report.jsonText, "\(command)")
        }
    }
}

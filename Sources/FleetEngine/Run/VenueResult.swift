/// What one operation found on one venue: a `Codable` value that the report writes and every
/// reader (`report`, `report merge`, `compliance`, `status`, metrics) decodes as the same type.
/// Its keys sit beside the venue's own (`slug`, `status`, `summary`, …) in the report's JSON, so
/// none of them may be one of those. `summary` and `warnings` are written by the venue's envelope,
/// not by the result: a result decoded from a report has them empty.
public protocol VenueResult: Codable, Sendable, Equatable {
    /// The command whose result this is: a report's `command` names the type its venues decode as.
    static var command: String { get }
    /// One line for the terminal table.
    var summary: String { get }
    /// Reasons for a `warning` status; empty for a plain `ok`.
    var warnings: [String] { get }
}

extension VenueResult {
    public var warnings: [String] { [] }

    func isEqual(to other: (any VenueResult)?) -> Bool { (other as? Self) == self }
}

/// The result type of every command that writes a report: a new operation adds its line here.
public enum VenueResults {
    public static let types: [any VenueResult.Type] = [
        CheckResult.self, QueryRowsResult.self, BackupResult.self, UploadResult.self, VerifyResult.self, RestoreResult.self,
        PruneResult.self, ExecResult.self, ExportResult.self, AnalyzeResult.self, SizesResult.self, CountsResult.self,
        SweepResult.self,
    ]

    private static let byCommand = Dictionary(uniqueKeysWithValues: types.map { ($0.command, $0) })

    /// The type a report of `command` holds per venue; nil for a command that writes no results.
    public static func type(of command: String) -> (any VenueResult.Type)? { byCommand[command] }
}

/// A result that measured the venue's database (`check`, `sizes`, `sweep`): one fact, one key, `database_bytes`.
public protocol DatabaseSizeResult: VenueResult {
    var databaseBytes: Int { get }
}

extension CheckResult: DatabaseSizeResult {}
extension SizesResult: DatabaseSizeResult {}
extension SweepResult: DatabaseSizeResult {}

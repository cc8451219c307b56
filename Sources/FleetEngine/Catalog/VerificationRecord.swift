import Foundation

/// The outcome of restore-testing one backup, saved beside it as `<stem>.verify.json`.
public struct VerificationRecord: Codable, Sendable, Equatable {
    /// One table whose rows after the restore differ from the manifest (nil: the table is missing).
    public struct Mismatch: Codable, Sendable, Equatable, CustomStringConvertible {
        public var table: String
        public var expected: Int?
        public var actual: Int?

        /// `public.Order expected 4000, got 3999`
        public var description: String {
            "\(table) expected \(expected.map(String.init) ?? "missing"), got \(actual.map(String.init) ?? "missing")"
        }
    }

    public var verifiedAt: Date
    /// The manifest's SHA-256 at the time of the check, so a replaced backup is not taken as verified.
    public var sha256: String
    public var checksumOK: Bool
    public var restoreOK: Bool
    public var tablesMatched: Int
    public var tables: Int
    public var mismatches: [Mismatch]
    public var error: String?
    public var ok: Bool { checksumOK && restoreOK && mismatches.isEmpty && error == nil }

    public init(verifiedAt: Date, sha256: String, checksumOK: Bool, restoreOK: Bool, tablesMatched: Int, tables: Int,
                mismatches: [Mismatch], error: String? = nil) {
        self.verifiedAt = verifiedAt
        self.sha256 = sha256
        self.checksumOK = checksumOK
        self.restoreOK = restoreOK
        self.tablesMatched = tablesMatched
        self.tables = tables
        self.mismatches = mismatches
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case verifiedAt = "verified_at", sha256, checksumOK = "checksum_ok", restoreOK = "restore_ok"
        case tablesMatched = "tables_matched", tables, mismatches, error
    }
}

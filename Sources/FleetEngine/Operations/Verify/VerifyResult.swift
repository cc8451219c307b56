import Foundation

/// `verify` on one venue: each backup restore-tested, as its verification record says.
public struct VerifyResult: VenueResult {
    public static let command = "verify"

    /// One backup's test.
    public struct Backup: Sendable, Equatable, Codable {
        public var file: String
        public var ok: Bool
        public var checksumOK: Bool
        public var restoreOK: Bool
        public var tablesMatched: Int
        public var tables: Int
        public var mismatches: [VerificationRecord.Mismatch]
        public var error: String?
        public var verifiedAt: Date

        public init(_ record: VerificationRecord, file: String) {
            self.file = file
            ok = record.ok
            checksumOK = record.checksumOK
            restoreOK = record.restoreOK
            tablesMatched = record.tablesMatched
            tables = record.tables
            mismatches = record.mismatches
            error = record.error
            verifiedAt = record.verifiedAt
        }

        enum CodingKeys: String, CodingKey {
            case file, ok, checksumOK = "checksum_ok", restoreOK = "restore_ok", tablesMatched = "tables_matched", tables
            case mismatches, error, verifiedAt = "verified_at"
        }
    }

    public var backups: [Backup]

    public init(backups: [Backup]) {
        self.backups = backups
    }

    public var summary: String {
        guard backups.count == 1 else { return "verified \(backups.count) backups" }
        let backup = backups[0]
        var text = "verified \(backup.file.split(separator: "/").last.map(String.init) ?? backup.file), "
        text += "checksum ok, restore ok, \(backup.tablesMatched)/\(backup.tables) tables matched"
        if !backup.mismatches.isEmpty { text += "; mismatches: " + backup.mismatches.map(\.description).joined(separator: ", ") }
        if let error = backup.error { text += "; \(error)" }
        return text
    }
}

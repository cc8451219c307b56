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
        /// Why this run could not test the backup (the scratch server lacks a role or a tablespace,
        /// a connection failed, no identity to decrypt with): the backup was not judged, its state
        /// is unchanged. Nil when it was judged.
        public var verifyFailed: String?
        public var verifiedAt: Date

        public init(_ record: VerificationRecord, file: String, verifyFailed: String? = nil) {
            self.file = file
            ok = record.ok && verifyFailed == nil
            checksumOK = record.checksumOK
            restoreOK = record.restoreOK
            tablesMatched = record.tablesMatched
            tables = record.tables
            mismatches = record.mismatches
            error = record.error
            verifiedAt = record.verifiedAt
            self.verifyFailed = verifyFailed
        }

        /// `checksum ok, restore ok, 3/4 tables matched; mismatches: …`, or what went wrong.
        public var description: String {
            if let verifyFailed { return "verify could not run (\(verifyFailed)); the backup's state is unchanged" }
            if let error, !restoreOK || !checksumOK { return error }
            var text = "checksum ok, restore ok, \(tablesMatched)/\(tables) tables matched"
            if !mismatches.isEmpty { text += "; mismatches: " + mismatches.map(\.description).joined(separator: ", ") }
            if let error { text += "; \(error)" }
            return text
        }

        enum CodingKeys: String, CodingKey {
            case file, ok, checksumOK = "checksum_ok", restoreOK = "restore_ok", tablesMatched = "tables_matched", tables
            case mismatches, error, verifiedAt = "verified_at", verifyFailed = "verify_failed"
        }
    }

    public var backups: [Backup]

    public init(backups: [Backup]) {
        self.backups = backups
    }

    public var summary: String {
        guard backups.count == 1 else {
            let failed = backups.filter { !$0.ok }.count
            return "verified \(backups.count) backups" + (failed == 0 ? "" : ", \(failed) failed")
        }
        let backup = backups[0]
        return "verified \(backup.file.split(separator: "/").last.map(String.init) ?? backup.file), " + backup.description
    }
}

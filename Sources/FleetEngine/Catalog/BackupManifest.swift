import FleetModel
import Foundation

/// Written last, beside its dump: a backup counts only once this file exists. The row counts
/// were taken inside the same snapshot pg_dump used, so a restore must reproduce them exactly.
public struct BackupManifest: Codable, Sendable, Equatable {
    public var venue: String
    public var database: String
    /// The dump's file name, in the same directory as the manifest.
    public var file: String
    public var format: BackupFormat
    public var bytes: Int
    public var sha256: String
    public var startedAt: Date
    public var finishedAt: Date
    public var serverVersion: String
    public var pgDumpVersion: String
    public var snapshot: String
    /// `{"public.Order": 4000, …}`: exact counts of every user table at the dump's snapshot.
    public var rowCounts: [String: Int]
    public var tool: String

    enum CodingKeys: String, CodingKey {
        case venue, database, file, format, bytes, sha256, snapshot, tool
        case startedAt = "started_at", finishedAt = "finished_at", serverVersion = "server_version"
        case pgDumpVersion = "pg_dump_version", rowCounts = "row_counts"
    }

    /// `x.dump` → `x.manifest.json`
    public static func path(forDump dumpPath: String) -> String {
        let url = URL(fileURLWithPath: dumpPath)
        return url.deletingPathExtension().path + ".manifest.json"
    }

    public func encoded() throws -> Data {
        try BackupCatalog.encoder.encode(self) + Data("\n".utf8)
    }

    public static func decode(_ data: Data) throws -> BackupManifest {
        try BackupCatalog.decoder.decode(BackupManifest.self, from: data)
    }
}

/// UTC timestamps as the project writes them.
public enum Timestamp {
    /// `2026-11-24T23:39:39.123Z`, rounded to the millisecond so that it parses back to itself.
    public static func iso8601(_ date: Date) -> String {
        let (parts, milliseconds) = utc(date)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, milliseconds)
    }

    public static func parse(_ text: String) -> Date? {
        (try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: .iso8601))
    }

    /// `20261124T233939Z`, for file names: sorts by time, no characters shells dislike.
    public static func compact(_ date: Date) -> String {
        let (parts, _) = utc(date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    private static func utc(_ date: Date) -> (tm, Int32) {
        let total = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var seconds = time_t(total.quotientAndRemainder(dividingBy: 1000).quotient - (total < 0 && total % 1000 != 0 ? 1 : 0))
        let milliseconds = Int32(total - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return (parts, milliseconds)
    }
}

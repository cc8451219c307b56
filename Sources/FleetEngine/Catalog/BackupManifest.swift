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
    public static func name(forDump name: String) -> String {
        (BackupCatalog.dumpStem(name) ?? name) + ".manifest.json"
    }

    /// `/dir/x.dump` → `/dir/x.manifest.json`
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

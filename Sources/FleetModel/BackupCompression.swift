import Foundation

/// How a backup's bytes are compressed on their way to the file.
public enum BackupCompression: Sendable, Equatable, CustomStringConvertible {
    /// `pg_dump -Z0 | zstd -<level>`: much faster than pg_dump's zlib and smaller (the default, level 3).
    case zstd(level: Int)
    /// pg_dump's own `-Z <level>` (zlib): what pg_dump does without gwi-fleet.
    case gzip(level: Int)
    /// No compression at all (`-Z0`).
    case none

    public static let `default` = BackupCompression.zstd(level: 3)

    /// `zstd`, `zstd:19`, `gzip:6`, `none`; nil for anything else.
    public static func parse(_ text: String) -> BackupCompression? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard let name = parts.first, parts.count <= 2 else { return nil }
        let level = parts.count == 2 ? Int(parts[1]) : nil
        if parts.count == 2 && level == nil { return nil }
        switch name {
        case "zstd": return (1...19).contains(level ?? 3) ? .zstd(level: level ?? 3) : nil
        case "gzip": return (0...9).contains(level ?? 6) ? .gzip(level: level ?? 6) : nil
        case "none": return parts.count == 1 ? BackupCompression.none : nil
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .zstd(let level): "zstd:\(level)"
        case .gzip(let level): "gzip:\(level)"
        case .none: "none"
        }
    }
}

import Foundation

/// The time gwi-fleet stamps on backups, records and reports, and judges ages against. Real time,
/// unless `GWI_NOW` (an RFC 3339 time, for tests and fault drills) starts the process's clock at
/// that moment; it then advances in real time. Tests in the same process move it per task.
public enum WallClock {
    /// Seconds added to the system clock: from `GWI_NOW` for the process, per task in tests.
    @TaskLocal public static var offset: TimeInterval = processOffset

    public static func now() -> Date { Date().addingTimeInterval(offset) }

    /// Why `GWI_NOW` cannot be used (not an RFC 3339 time with its zone); nil when unset or good.
    public static var problem: String? {
        guard let text = ProcessInfo.processInfo.environment["GWI_NOW"] else { return nil }
        return Timestamp.parseRFC3339(text) != nil ? nil
            : "GWI_NOW=`\(text)` is not an RFC 3339 time with its zone (e.g. 2026-12-01T12:00:00Z); unset it to use the real clock"
    }

    /// `GWI_NOW` minus the moment it is first read; 0 when unset (or not a time).
    static let processOffset: TimeInterval = {
        guard let text = ProcessInfo.processInfo.environment["GWI_NOW"], let start = Timestamp.parseRFC3339(text) else { return 0 }
        return start.timeIntervalSinceNow
    }()
}

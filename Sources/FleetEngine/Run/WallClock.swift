import Foundation

/// The time gwi-fleet stamps on backups, records and reports, and judges ages against. Real time,
/// unless `GWI_NOW` (an RFC 3339 time, for tests and fault drills) starts the process's clock at
/// that moment; it then advances in real time. Tests in the same process move it per task.
public enum WallClock {
    /// Seconds added to the system clock: from `GWI_NOW` for the process, per task in tests.
    @TaskLocal public static var offset: TimeInterval = processOffset

    public static func now() -> Date { Date().addingTimeInterval(offset) }

    /// `GWI_NOW` minus the moment it is first read; 0 when unset (or not a time).
    static let processOffset: TimeInterval = {
        guard let text = ProcessInfo.processInfo.environment["GWI_NOW"], let start = Timestamp.parse(text) else { return 0 }
        return start.timeIntervalSinceNow
    }()
}

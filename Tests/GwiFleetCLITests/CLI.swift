import Foundation
import TestSupport

/// Runs the built `gwi-fleet` executable (it sits beside the test bundle) in a working directory.
enum CLI {
    static let executable: String = {
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        return bundle.appendingPathComponent("gwi-fleet").path
    }()

    /// Runs it on a thread of its own: a test waiting for gwi-fleet never holds the cooperative pool.
    static func run(_ arguments: [String], environment extra: [String: String] = [:], unsetting: [String] = []) async throws -> Shell.Output {
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in extra { environment[key] = value }
        for key in unsetting { environment[key] = nil }
        return try await Shell.captureInBackground(executable, arguments, environment: environment)
    }

    /// A time as `GWI_NOW` takes it (gwi-fleet's clock starts there).
    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

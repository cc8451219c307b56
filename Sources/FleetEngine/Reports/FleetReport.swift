import FleetModel
import Foundation

/// The summary of one command over the fleet: computed from the outcomes, saved as JSON under
/// the reports directory, rendered on the terminal by the executable.
public struct FleetReport: Sendable {
    public var command: String
    public var fleetPath: String
    public var startedAt: Date
    public var finishedAt: Date
    public var interrupted: Bool
    public var outcomes: [VenueOutcome]
    /// `--strict`: a warning counts as a failure for the exit code.
    public var strict: Bool
    /// Fleet-wide figures of the command (e.g. `sizes`' totals), after the venues in the JSON.
    public var fleetFields: [(String, JSONValue)]

    public init(command: String, fleetPath: String, startedAt: Date, finishedAt: Date, interrupted: Bool,
                outcomes: [VenueOutcome], strict: Bool = false, fleetFields: [(String, JSONValue)] = []) {
        self.command = command
        self.fleetPath = fleetPath
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.interrupted = interrupted
        self.outcomes = outcomes
        self.strict = strict
        self.fleetFields = fleetFields
    }

    public func count(_ status: VenueStatus) -> Int { outcomes.filter { $0.status == status }.count }

    /// 0 all ok (or warning, or skipped), 1 any failed (or warning with --strict), 130 interrupted.
    public var exitCode: Int32 {
        if interrupted { return ExitCodes.interrupted }
        return count(.failed) > 0 || (strict && count(.warning) > 0) ? ExitCodes.venueFailed : ExitCodes.ok
    }

    public var json: JSONValue {
        .object([
            ("command", .string(command)),
            ("fleet", .string(fleetPath)),
            ("started_at", .string(Timestamp.iso8601(startedAt))),
            ("finished_at", .string(Timestamp.iso8601(finishedAt))),
            ("interrupted", .bool(interrupted)),
            ("exit_code", .int(Int(exitCode))),
            ("summary", .object([("ok", .int(count(.ok))), ("warning", .int(count(.warning))), ("failed", .int(count(.failed))),
                                 ("skipped", .int(count(.skipped)))])),
            ("venues", .array(outcomes.map { outcome in
                .object([
                    ("slug", .string(outcome.slug)),
                    ("database", .string(outcome.database)),
                    ("status", .string(outcome.status.rawValue)),
                    ("duration_ms", .int(outcome.durationMilliseconds)),
                    ("error", outcome.error.map(JSONValue.string) ?? .null),
                    ("summary", .string(outcome.figures.summary)),
                ] + (outcome.figures.warnings.isEmpty ? [] : [("warnings", .array(outcome.figures.warnings.map(JSONValue.string)))])
                  + outcome.figures.fields)
            })),
        ] + (fleetFields.isEmpty ? [] : [("fleet_totals", .object(fleetFields))]))
    }

    public func encoded() -> Data {
        Data(json.serialized().utf8)
    }

    /// Saves `<directory>/<command>-<YYYYMMDDTHHMMSSZ>.json` (0600, written durably); returns the path.
    @discardableResult
    public func save(in directory: String) throws -> String {
        try DurableFile.makePrivateDirectory(directory)
        var path = "\(directory)/\(command)-\(Timestamp.compact(startedAt)).json"
        var counter = 2
        while FileManager.default.fileExists(atPath: path) {
            path = "\(directory)/\(command)-\(Timestamp.compact(startedAt))-\(counter).json"
            counter += 1
        }
        try DurableFile.write(encoded(), to: path)
        return path
    }
}

/// The process exit codes, documented in the README.
public enum ExitCodes {
    public static let ok: Int32 = 0
    /// At least one selected venue failed.
    public static let venueFailed: Int32 = 1
    /// Bad command line or invalid fleet file: nothing was touched.
    public static let usage: Int32 = 2
    /// Interrupted by SIGINT or SIGTERM; the report was still written.
    public static let interrupted: Int32 = 130
}

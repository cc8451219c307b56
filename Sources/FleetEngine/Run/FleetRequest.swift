import FleetModel
import Foundation

/// What a command line asks of the fleet, as parsed and nothing more: the executable fills it in,
/// `ResolvedRequest.resolve` decides what it means.
public struct FleetRequest: Sendable {
    /// The command (`backup`, `verify`, …): names the report and the master database's skip.
    public var command: String
    /// `--fleet`; else `$GWI_FLEET`, `./fleet.yaml`, `/etc/gwi-fleet/fleet.yaml`.
    public var fleetPath: String?
    /// `--reports-dir`: replaces the fleet file's `reports.dir`.
    public var reportsDirectory: String?
    public var venues: [String] = []
    public var tags: [String] = []
    /// `--jobs`: replaces `defaults.jobs`.
    public var jobs: Int?
    /// `--timeout`: replaces every venue's timeout, and bounds discovery and coverage too.
    public var timeout: Duration?
    /// `--shard INDEX/COUNT`, or `--shard-count N` with `$JOB_COMPLETION_INDEX`.
    public var shard: String?
    public var shardCount: Int?
    /// False for `validate --shard-count`, which shows how the whole fleet splits.
    public var applyShard = true
    /// The command leaves the master database out unless `--venue` names it (`exec`, `query`, …).
    public var leavesMasterOut = false
    /// A bare backup file name whose venue, found from the database name it starts with, is the
    /// selection when no `--venue` or `--tag` is given (`verify --backup NAME`).
    public var backupName: String?

    public init(command: String) {
        self.command = command
    }
}

/// Why a request cannot run; nothing has been touched. Exit code 2.
public struct RequestError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The one place where the fleet file path is found, for every command (`report --latest` too).
public enum FleetPath {
    public static let candidates = ["fleet.yaml", "/etc/gwi-fleet/fleet.yaml"]

    /// `explicit` (`--fleet`), else `$GWI_FLEET`, else the first of `candidates` that exists.
    public static func resolve(_ explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(RequestError) -> String {
        if let explicit { return explicit }
        if let path = environment["GWI_FLEET"], !path.isEmpty { return path }
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) { return found }
        throw RequestError("no fleet file: give --fleet PATH, or set GWI_FLEET (looked in ./fleet.yaml and /etc/gwi-fleet/fleet.yaml)")
    }
}

import ArgumentParser
import FleetEngine
import FleetModel
import Foundation

/// `--fleet`, `--reports-dir` and `--json`: every fleet command has them.
struct FleetFileOptions: ParsableArguments {
    @Option(name: .long, help: "The fleet file (else $GWI_FLEET, else ./fleet.yaml, else /etc/gwi-fleet/fleet.yaml).")
    var fleet: String?

    @Option(name: .customLong("reports-dir"), help: "Where reports are saved and read (overrides reports.dir).")
    var reportsDirectory: String?

    @Flag(name: .long, help: "Print JSON to stdout instead of the table.")
    var json = false

    @Option(name: .customLong("log-format"), help: "Lines on stderr when it is not a terminal: logfmt, or json (then every line is a JSON object).")
    var logFormat: LogFormatOption = .logfmt
}

/// `--venue` and `--tag`: for commands that work on a selection of venues.
struct SelectionOptions: ParsableArguments {
    @Option(name: .long, help: "Only this venue (repeatable).")
    var venue: [String] = []

    @Option(name: .long, help: "Only venues with this tag (repeatable).")
    var tag: [String] = []
}

/// How a run that touches venues behaves and talks.
struct RunOptions: ParsableArguments {
    @Option(name: .long, help: "Venues worked on at once (overrides defaults.jobs).")
    var jobs: Int?

    @Option(name: .long, help: "Per-venue timeout, e.g. 90s, 30m (overrides the fleet file).")
    var timeout: String?

    @Flag(name: .long, help: "Print only the summary line and the failures.")
    var quiet = false

    @Flag(name: .customLong("venue-table"), help: "Print the per-venue table on stdout also when stderr is not a terminal (its log lines say the same).")
    var venueTable = false

    func validate() throws {
        if let jobs, !(1...Fleet.maximumJobs).contains(jobs) { throw ValidationError("--jobs must be between 1 and \(Fleet.maximumJobs)") }
        if let timeout {
            guard let duration = FleetDuration.parse(timeout) else {
                throw ValidationError("--timeout: bad duration `\(timeout)` (write e.g. 90s, 30m, 1h30m)")
            }
            if duration > Venue.maximumTimeout {
                throw ValidationError("--timeout: at most \(FleetDuration.format(Venue.maximumTimeout))")
            }
        }
    }
}

/// `--shard` and `--shard-count`: one part of a split run.
struct ShardOptions: ParsableArguments {
    @Option(name: .long, help: "Work on one part of a split run: INDEX/COUNT, e.g. 2/4 (venues assigned by rendezvous hashing).")
    var shard: String?

    @Option(name: .customLong("shard-count"), help: "Split the run this many ways; the index comes from $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job).")
    var shardCount: Int?
}

/// Every option group: what commands that touch venues take.
struct VenueCommandOptions: ParsableArguments {
    @OptionGroup var file: FleetFileOptions
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var run: RunOptions
    @OptionGroup var shard: ShardOptions

    var options: FleetOptions { FleetOptions(file, selection: selection, run: run, shard: shard) }
}

/// Everything a session needs from the command line, gathered from the option groups a command
/// has; an option a command does not offer keeps its default.
struct FleetOptions {
    var fleet: String?
    var reportsDirectory: String?
    var json = false
    var venue: [String] = []
    var tag: [String] = []
    var jobs: Int?
    var timeout: String?
    var quiet = false
    var venueTable = false
    var logFormat: LogFormatOption = .logfmt
    var shard: String?
    var shardCount: Int?

    init(_ file: FleetFileOptions, selection: SelectionOptions? = nil, run: RunOptions? = nil, shard: ShardOptions? = nil) {
        (fleet, reportsDirectory, json, logFormat) = (file.fleet, file.reportsDirectory, file.json, file.logFormat)
        if let selection { (venue, tag) = (selection.venue, selection.tag) }
        if let run { (jobs, timeout, quiet, venueTable) = (run.jobs, run.timeout, run.quiet, run.venueTable) }
        if let shard { (self.shard, shardCount) = (shard.shard, shard.shardCount) }
    }

    /// The request these options make, for the engine to resolve.
    func request(command: String) -> FleetRequest {
        var request = FleetRequest(command: command)
        request.fleetPath = fleet
        request.reportsDirectory = reportsDirectory
        (request.venues, request.tags, request.jobs) = (venue, tag, jobs)
        request.timeout = timeout.flatMap(FleetDuration.parse)
        (request.shard, request.shardCount) = (shard, shardCount)
        return request
    }
}

/// `--log-format`.
enum LogFormatOption: String, ExpressibleByArgument, CaseIterable { case logfmt, json }

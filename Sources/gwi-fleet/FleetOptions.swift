import ArgumentParser
import FleetModel

/// Options every fleet command shares.
struct FleetOptions: ParsableArguments {
    @Option(name: .long, help: "The fleet file.")
    var fleet: String = "fleet.yaml"

    @Option(name: .long, help: "Only this venue (repeatable).")
    var venue: [String] = []

    @Option(name: .long, help: "Only venues with this tag (repeatable).")
    var tag: [String] = []

    @Option(name: .long, help: "Venues worked on at once (overrides defaults.jobs).")
    var jobs: Int?

    @Option(name: .long, help: "Per-venue timeout, e.g. 90s, 30m (overrides the fleet file).")
    var timeout: String?

    @Option(name: .customLong("reports-dir"), help: "Where the JSON report is saved (overrides reports.dir).")
    var reportsDirectory: String?

    @Flag(name: .long, help: "Print the JSON report to stdout instead of the table.")
    var json = false

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

    var timeoutOverride: Duration? { timeout.flatMap(FleetDuration.parse) }
}

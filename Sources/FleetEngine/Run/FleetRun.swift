import FleetBasics
import FleetModel
import Foundation
import Logging
import Synchronization

/// One command over the fleet, from start to report: the selected venues through the bounded
/// runner, SIGINT/SIGTERM turned into cancellation, the report built from the outcomes and saved,
/// and every step told to the sinks through one event stream. The executable only parses options,
/// makes one of these and renders what it returns.
public struct FleetRun: Sendable {
    /// What the whole fleet adds once every venue is done: figures (a combined export's file,
    /// fleet totals) and problems that fail the run.
    public struct Conclusion: Sendable {
        public var totals: FleetTotals
        public var problems: [String]

        public init(totals: FleetTotals = FleetTotals(), problems: [String] = []) {
            self.totals = totals
            self.problems = problems
        }
    }

    public var command: String
    public var fleet: Fleet
    /// The selected venues, in fleet order (disabled ones are reported skipped).
    public var venues: [Venue]
    public var runner: FleetRunner
    /// Run this many enabled venues first; stop if any of them fails (`exec --canary`).
    public var canary: Int?
    /// A warning fails the run (`sweep --strict`).
    public var strict: Bool
    public var sinks: [any RunSink]
    /// SIGINT and SIGTERM cancel the run (off in tests that cancel it themselves).
    public var handleSignals: Bool
    public let runID: String
    /// How the venues were found; a stale list fails the run at the end.
    public var discovery: DiscoveryStatus?
    /// This run's part of a split run (`--shard`).
    public var shard: RunReport.ShardInfo?

    public init(command: String, fleet: Fleet, venues: [Venue], jobs: Int? = nil,
                maxFailures: Int? = nil, canary: Int? = nil, strict: Bool = false, sinks: [any RunSink] = [],
                logger: Logger = RunContext.silent, handleSignals: Bool = true, discovery: DiscoveryStatus? = nil,
                shard: RunReport.ShardInfo? = nil) {
        self.shard = shard
        let startedAt = WallClock.now()
        runID = RunReport.newRunID(at: startedAt)
        var logger = logger
        logger[metadataKey: "run"] = .string(runID)
        logger[metadataKey: "command"] = .string(command)
        self.command = command
        self.fleet = fleet
        self.venues = venues
        self.runner = FleetRunner(jobs: jobs ?? fleet.jobs, maxFailures: maxFailures,
                                  logger: logger)
        self.canary = canary
        self.strict = strict
        self.sinks = sinks
        self.handleSignals = handleSignals
        self.discovery = discovery
    }

    /// Runs `operation` on every selected venue, then `conclude` once, then saves the report in the
    /// fleet's reports directory. A report that cannot be saved is a problem of the run (exit 1).
    public func run(
        _ operation: @escaping @Sendable (Venue) async throws -> (any VenueResult)?,
        conclude: @escaping @Sendable ([VenueOutcome]) async -> Conclusion = { _ in Conclusion() }
    ) async -> (report: RunReport, savedAt: String?) {
        let startedAt = WallClock.now()
        let (events, stream) = AsyncStream.makeStream(of: RunEvent.self, bufferingPolicy: .unbounded)
        let sinks = self.sinks
        let delivery = Task {
            // Each event goes to every sink at once (a hung webhook does not hold the metrics push).
            for await event in events {
                await withTaskGroup(of: Void.self) { group in
                    for sink in sinks { group.addTask { await sink.receive(event) } }
                }
            }
        }
        stream.yield(.started(command: command, runID: runID, venues: venues.filter { FleetRunner.skipReason($0) == nil }.count))
        var runner = self.runner
        let failures = FailureCount()
        runner.observer = { event in
            switch event {
            case .started(let slug, let running, let done, let total):
                stream.yield(.venueStarted(slug: slug, running: running, done: done, total: total))
            case .finished(let outcome, let running, let done, let total):
                let failed = failures.add(outcome.status == .failed)
                stream.yield(.venueFinished(outcome, running: running, done: done, total: total, failed: failed))
            }
        }
        let (venues, canary) = (self.venues, self.canary)
        let work = Task {
            if let canary { await runner.run(venues, canary: canary, operation: operation) }
            else { await runner.run(venues, operation: operation) }
        }
        // A signal while venues run stops them (the report is still written and sent); one that
        // comes after, while the sinks deliver (a webhook that does not answer), stops the delivery.
        let phase = RunPhase(work: work, delivery: delivery)
        let watcher = handleSignals ? SignalWatcher { if phase.signal() { stream.yield(.interrupted) } } : nil
        defer { watcher?.stop() }
        let outcomes = await withTaskCancellationHandler { await work.value } onCancel: { work.cancel() }
        // The fleet-level part (coverage, a combined export) is stopped by a signal too.
        let concluding = Task { await conclude(outcomes) }
        phase.conclude(concluding)
        let conclusion = await withTaskCancellationHandler { await concluding.value } onCancel: { concluding.cancel() }
        let interrupted = (watcher?.fired ?? false) || Task.isCancelled
        var report = RunReport(runID: runID, command: command, fleet: RunReport.FleetReference(fleet), startedAt: startedAt,
                               finishedAt: WallClock.now(), interrupted: interrupted, outcomes: outcomes, strict: strict,
                               problems: (discovery?.problems ?? []) + conclusion.problems,
                               totals: conclusion.totals, discovery: discovery, shard: shard)
        var savedAt: String?
        do {
            savedAt = try report.save(in: fleet.reportsDirectory)
        } catch {
            report.problems.append("the report could not be saved in \(fleet.reportsDirectory): \(error)")
        }
        stream.yield(.finished(report, savedAt: savedAt))
        stream.finish()
        phase.deliver()
        await withTaskCancellationHandler { await delivery.value } onCancel: { delivery.cancel() }
        // Not encoded twice to find out: the sinks say whether they added anything.
        // A signal at any moment of the run, however late, makes it an interrupted run (130).
        var added = phase.deliveryStopped || ((watcher?.fired ?? false) && !report.interrupted)
        if added { report.interrupted = true }
        for sink in sinks where sink.complete(&report) { added = true }
        if let savedAt, added { try? report.resave(at: savedAt) }
        let (directory, days, current) = (fleet.reportsDirectory, fleet.reportsKeepDays, savedAt)
        await BlockingExecutor.shared.run { Self.pruneReports(in: directory, olderThanDays: days, keeping: current) }
        return (report, savedAt)
    }

    /// Report retention (`reports.keep_days`): gwi-fleet's reports and `exec-<time>` log directories
    /// older than that go; the saved discovery, this run's report and anything else in the
    /// directory (another tool's JSON, even one with a `run_id`) never do.
    /// Ages are on the real clock: the files' modification times are (`GWI_NOW` never ages a report).
    static func pruneReports(in directory: String, olderThanDays days: Int, keeping current: String?, now: Date = Date()) {
        let limit = now.addingTimeInterval(-Double(days) * 86_400)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where !name.hasPrefix(".") {
            let path = directory + "/" + name
            guard path != current,
                  let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                  modified < limit else { continue }
            if name.wholeMatch(of: /exec-[0-9]{8}T[0-9]{6}Z(-[0-9a-f]{8})?/) != nil {
                removeExecLogs(in: path)
                continue
            }
            guard RunReport.isReportFile(name: name, at: path) else { continue }
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}

/// An old `exec-<time>` directory: its `<slug>.log` files, then the directory if nothing else is
/// in it (another tool's file put there stays, and so does the directory). A symbolic link is
/// removed, never followed.
private func removeExecLogs(in path: String) {
    var status = stat()
    guard lstat(path, &status) == 0 else { return }
    if status.st_mode & S_IFMT == S_IFLNK {
        unlink(path)
        return
    }
    guard status.st_mode & S_IFMT == S_IFDIR else { return }
    for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where name.hasSuffix(".log") {
        var file = stat()
        guard lstat(path + "/" + name, &file) == 0, file.st_mode & S_IFMT == S_IFREG else { continue }
        unlink(path + "/" + name)
    }
    rmdir(path)  // fails, and keeps it, while anything else is in it
}

/// Failed venues so far, counted from the runner's observer.
private final class FailureCount: Sendable {
    private let count = Mutex(0)
    func add(_ failed: Bool) -> Int { count.withLock { if failed { $0 += 1 }; return $0 } }
}

/// Which part of the run a signal stops: the venues' work, then the sinks' delivery.
private final class RunPhase: Sendable {
    private struct State {
        var concluding: Task<FleetRun.Conclusion, Never>?
        var delivering = false
        var signalled = false
        var deliveryStopped = false
    }

    private let work: Task<[VenueOutcome], Never>
    private let delivery: Task<Void, Never>
    private let state = Mutex(State())

    init(work: Task<[VenueOutcome], Never>, delivery: Task<Void, Never>) {
        self.work = work
        self.delivery = delivery
    }

    /// Cancels what runs now; true for the run's first signal.
    func signal() -> Bool {
        let (first, delivering, concluding) = state.withLock { state -> (Bool, Bool, Task<FleetRun.Conclusion, Never>?) in
            defer { state.signalled = true }
            if state.delivering { state.deliveryStopped = true }
            return (!state.signalled, state.delivering, state.concluding)
        }
        if delivering { delivery.cancel() } else if let concluding { concluding.cancel() } else { work.cancel() }
        return first
    }

    func conclude(_ task: Task<FleetRun.Conclusion, Never>) {
        let signalled = state.withLock { state -> Bool in
            state.concluding = task
            return state.signalled
        }
        // A signal that came while the last venues finished stops the conclusion too.
        if signalled { task.cancel() }
    }

    func deliver() { state.withLock { $0.delivering = true } }
    var deliveryStopped: Bool { state.withLock { $0.deliveryStopped } }
}

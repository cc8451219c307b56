import FleetModel
import Logging

/// The one bounded-concurrency primitive every command uses: at most `jobs` venues at once, each
/// under its own timeout, each ending as a `VenueOutcome` value so one failure never cancels the
/// rest. When the calling task is cancelled (Ctrl-C, SIGTERM), no new venue starts, running ones
/// are cancelled (their children terminated, temporary files removed) and report `interrupted`.
public struct FleetRunner: Sendable {
    public var jobs: Int
    public var observer: (@Sendable (RunnerEvent) -> Void)?
    /// Each venue's work logs through this, with the venue's slug as metadata.
    public var logger: Logger
    /// Stop starting venues once this many have failed (`--max-failures`); the rest are skipped.
    public var maxFailures: Int?

    public init(jobs: Int, maxFailures: Int? = nil, logger: Logger = RunContext.silent,
                observer: (@Sendable (RunnerEvent) -> Void)? = nil) {
        self.jobs = max(1, jobs)
        self.logger = logger
        self.maxFailures = maxFailures
        self.observer = observer
    }

    /// Runs `operation` on every enabled venue; outcomes come back in the venues' order.
    public func run(
        _ venues: [Venue], operation: @escaping @Sendable (Venue) async throws -> (any VenueResult)?
    ) async -> [VenueOutcome] {
        var outcomes = [VenueOutcome?](repeating: nil, count: venues.count)
        var pending: [Int] = []
        for (index, venue) in venues.enumerated() {
            if let reason = Self.skipReason(venue) {
                outcomes[index] = VenueOutcome(slug: venue.slug, database: venue.database, status: .skipped, error: reason)
            } else {
                pending.append(index)
            }
        }
        let total = pending.count
        var done = 0
        var failures = 0
        var running: [String] = []
        pending.reverse()

        await withTaskGroup(of: (Int, VenueOutcome).self) { group in
            func startNext() -> Bool {
                guard !Task.isCancelled, failures < (maxFailures ?? .max), let index = pending.popLast() else { return false }
                let venue = venues[index]
                let timeout = venue.timeout
                running.append(venue.slug)
                observer?(.started(slug: venue.slug, running: running, done: done, total: total))
                var logger = self.logger
                logger[metadataKey: "venue"] = .string(venue.slug)
                group.addTask {
                    (index, await RunContext.$logger.withValue(logger) {
                        await Self.outcome(of: venue, timeout: timeout, operation: operation)
                    })
                }
                return true
            }
            for _ in 0..<jobs where startNext() {}
            while let (index, outcome) = await group.next() {
                outcomes[index] = outcome
                done += 1
                if outcome.status == .failed { failures += 1 }
                running.removeAll { $0 == outcome.slug }
                observer?(.finished(outcome, running: running, done: done, total: total))
                _ = startNext()
            }
        }
        // Whatever never started is reported, not dropped.
        let reason = Task.isCancelled ? "not started: the run was interrupted"
            : "not started: \(failures) venues failed (--max-failures \(maxFailures ?? 0))"
        for index in pending {
            let venue = venues[index]
            outcomes[index] = VenueOutcome(slug: venue.slug, database: venue.database, status: .skipped, error: reason)
        }
        return outcomes.map { $0! }
    }

    /// Runs the first `canary` enabled venues first; if any of them fails, the rest are skipped.
    /// Otherwise the rest run, with `maxFailures` counting the canary's failures too.
    public func run(
        _ venues: [Venue], canary: Int, operation: @escaping @Sendable (Venue) async throws -> (any VenueResult)?
    ) async -> [VenueOutcome] {
        var enabledSeen = 0
        let split = venues.firstIndex { venue in
            if Self.skipReason(venue) == nil { enabledSeen += 1 }
            return enabledSeen > canary
        } ?? venues.endIndex
        let first = await run(Array(venues[..<split]), operation: operation)
        let rest = Array(venues[split...])
        let failed = first.filter { $0.status == .failed }.count
        if failed > 0 || Task.isCancelled || failed >= (maxFailures ?? .max) {
            let reason = Task.isCancelled ? "not started: the run was interrupted" : "not started: the canary failed"
            return first + rest.map { venue in
                VenueOutcome(slug: venue.slug, database: venue.database, status: .skipped,
                             error: Self.skipReason(venue) ?? reason)
            }
        }
        var remaining = self
        remaining.maxFailures = maxFailures.map { $0 - failed }
        return first + (await remaining.run(rest, operation: operation))
    }

    /// Why a venue is not worked on at all in this run, or nil.
    static func skipReason(_ venue: Venue) -> String? {
        if !venue.enabled { return venue.origin.hasPrefix("registry") ? "disabled (registry: not active)" : "disabled in the fleet file" }
        return venue.skipReason
    }

    static func outcome(
        of venue: Venue, timeout: Duration, operation: @escaping @Sendable (Venue) async throws -> (any VenueResult)?
    ) async -> VenueOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        var outcome = VenueOutcome(slug: venue.slug, database: venue.database, status: .ok)
        do {
            outcome.result = try await withDeadline(timeout) { try await operation(venue) }
        } catch let failure as VenueFailure {
            outcome.status = .failed
            var error = failure.error
            if Task.isCancelled { error.cause = "interrupted; " + error.cause }
            outcome.failure = error
            outcome.result = failure.result
        } catch let skipped as VenueSkipped {
            outcome.status = .skipped
            outcome.failure = VenueError(skipped.reason)
        } catch {
            outcome.status = .failed
            outcome.failure = Task.isCancelled ? FleetEngineError.interrupted.venueError : VenueError(error)
        }
        outcome.duration = clock.now - start
        // The one place a venue's error and figures are made safe to show: every secret of the venue out.
        let redactor = SecretRedactor(venue: venue)
        outcome.failure = outcome.failure?.redacted(by: redactor)
        outcome.summary = redactor.redact(outcome.result?.summary ?? "")
        outcome.warnings = (outcome.result?.warnings ?? []).map(redactor.redact)
        if outcome.status == .ok && !outcome.warnings.isEmpty { outcome.status = .warning }
        return outcome
    }

    /// An error as one line, rendered the one way (`VenueError`).
    static func describe(_ error: Error) -> String { VenueError(error).description }
}

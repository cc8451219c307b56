/// What a run tells its sinks, in order: one `started`, each venue's `venueStarted` and
/// `venueFinished`, then one `finished` with the report (already saved when `savedAt` is set).
public enum RunEvent: Sendable {
    case started(command: String, runID: String, venues: Int)
    case venueStarted(slug: String, running: [String], done: Int, total: Int)
    case venueFinished(VenueOutcome, running: [String], done: Int, total: Int, failed: Int)
    case interrupted
    case finished(RunReport, savedAt: String?)
}

/// Something that watches runs: the terminal, the report file, later notifications and metrics.
/// Events arrive one at a time, in order; a slow sink delays later events, never the venues' work.
public protocol RunSink: Sendable {
    func receive(_ event: RunEvent) async
    /// Adds to the report once the run has ended (the notifications delivered…); true when it
    /// added something, and the report is then saved again.
    func complete(_ report: inout RunReport) -> Bool
}

extension RunSink {
    public func complete(_ report: inout RunReport) -> Bool { false }
}

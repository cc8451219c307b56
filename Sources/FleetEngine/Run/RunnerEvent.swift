/// What the runner tells its observer while it works (for a progress line or log lines).
public enum RunnerEvent: Sendable {
    case started(slug: String, running: [String], done: Int, total: Int)
    case finished(VenueOutcome, running: [String], done: Int, total: Int)
}

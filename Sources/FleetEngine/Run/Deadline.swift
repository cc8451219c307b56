import Logging

/// Runs `body` under a deadline: once `limit` has passed, `body` is cancelled and `timedOut` thrown
/// as soon as it has stopped. Everything `body` waits on (connections, child processes, pipelines)
/// ends promptly on cancellation, so the outcome follows the deadline closely.
///
/// When the calling task is cancelled instead (Ctrl-C), `body` is cancelled too and its own result
/// wins: a `VenueFailure` that says what it did on the way out (exec's rollback) is kept.
func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let state = DeadlineState(limit: limit)
    let result = await withTaskGroup(of: DeadlineEvent<T>.self) { group -> Result<T, Error> in
        group.addTask {
            await RunContext.$deadline.withValue(state) {
                do { return .finished(.success(try await body())) } catch { return .finished(.failure(error)) }
            }
        }
        group.addTask {
            do {
                try await Task.sleep(for: limit)
                return .deadline
            } catch {
                return .timerCancelled
            }
        }
        var timedOut = false
        while let event = await group.next() {
            switch event {
            case .finished(let result):
                group.cancelAll()
                if timedOut {
                    let error = FleetEngineError.timedOut(limit)
                    if case .failure(let failure as VenueFailure) = result {
                        return .failure(VenueFailure(VenueError(error).adding(failure.error.description), result: failure.result))
                    }
                    return .failure(error)
                }
                return result
            case .deadline:
                timedOut = true
                state.expire()
                group.cancelAll()
            case .timerCancelled:
                continue
            }
        }
        return .failure(FleetEngineError.timedOut(limit))
    }
    return try result.get()
}

private enum DeadlineEvent<T: Sendable>: Sendable {
    case finished(Result<T, Error>)
    case deadline
    case timerCancelled
}

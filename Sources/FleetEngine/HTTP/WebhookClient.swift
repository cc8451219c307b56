import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The one place gwi-fleet speaks HTTP to webhooks: a POST (or PUT) with a 10 s timeout a try and
/// three tries with backoff, all within `budget` from the first try. Foundation's URLSession, so
/// no HTTP package is built for a handful of requests a run.
///
/// A try is abandoned at its timeout or when the calling task is cancelled (a signal), without
/// waiting for URLSession to notice: its request is cancelled and the answer, if one still comes,
/// is dropped. A webhook that never answers costs at most `budget`, never the run's exit.
struct WebhookClient: Sendable {
    var timeout: Duration = .seconds(10)
    var attempts = 3
    var firstBackoff: Duration = .milliseconds(500)
    /// The most one `send` takes, every try and backoff included.
    var budget: Duration = .seconds(30)

    /// Nil when it was delivered (2xx), else why not (the URL is never part of the message).
    func send(_ url: String, method: String = "POST", json body: Data? = nil) async -> String? {
        await send(url, method: method, body: body, contentType: "application/json")
    }

    func send(_ url: String, method: String, body: Data?, contentType: String) async -> String? {
        guard let target = URL(string: url) else { return "not a valid URL" }
        var request = URLRequest(url: target, timeoutInterval: Double(timeout.components.seconds) + 1)
        request.httpMethod = method
        if let body {
            request.httpBody = body
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        request.setValue("gwi-fleet", forHTTPHeaderField: "User-Agent")
        let deadline = ContinuousClock.now + budget
        var backoff = firstBackoff
        var failure = "not sent"
        var tries = 0
        while tries < max(1, attempts) {
            let left = deadline - .now
            if left <= .milliseconds(50) { break }
            tries += 1
            let limit = min(timeout, left)
            do {
                let status = try await Self.perform(request, timeout: limit)
                if (200..<300).contains(status) { return nil }
                failure = "HTTP \(status)"
            } catch is CancellationError {
                return "not sent: the run was interrupted (\(failure))"
            } catch FleetEngineError.timedOut {
                failure = "no answer within \(Self.seconds(limit))"
            } catch {
                failure = (error as NSError).localizedDescription.replacingOccurrences(of: url, with: "(webhook)")
            }
            if Task.isCancelled { return "not sent: the run was interrupted (\(failure))" }
            if tries < attempts {
                let pause = min(backoff, deadline - .now)
                // Task.sleep suspends (no pool thread held); a cancellation ends it and the loop below.
                if pause > .zero { try? await Task.sleep(for: pause) }
                backoff *= 2
            }
        }
        let budgetNote = tries < attempts ? " (the \(Self.seconds(budget)) for sending it were used up)" : ""
        return "\(failure) after \(tries) \(tries == 1 ? "try" : "tries")\(budgetNote)"
    }

    static func seconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }

    /// One try: the status code, or `timedOut`, or `CancellationError` at once when the task is cancelled.
    static func perform(_ request: URLRequest, timeout: Duration) async throws -> Int {
        let pending = PendingRequest()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                let task = URLSession.shared.dataTask(with: request) { _, response, error in
                    if let error { pending.finish(.failure(error)) }
                    else { pending.finish(.success((response as? HTTPURLResponse)?.statusCode ?? 0)) }
                }
                // The try's deadline: a suspended sleep, cancelled by `finish` when the answer comes first.
                let timer = Task {
                    try await Task.sleep(for: timeout)
                    pending.finish(.failure(FleetEngineError.timedOut(timeout)))
                }
                pending.start(continuation, task: task, timer: timer)
            }
        } onCancel: {
            pending.finish(.failure(CancellationError()))
        }
    }
}

/// A request whose first outcome (its answer, its timeout, a cancellation) resumes the caller;
/// the others are dropped, and the request and the timer are cancelled.
private final class PendingRequest: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Int, any Error>?
        var task: URLSessionDataTask?
        var timer: Task<Void, any Error>?
        var outcome: Result<Int, any Error>?
    }
    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Int, any Error>, task: URLSessionDataTask, timer: Task<Void, any Error>) {
        let early = state.withLock { state -> Result<Int, any Error>? in
            if let outcome = state.outcome { return outcome }  // cancelled before it started
            (state.continuation, state.task, state.timer) = (continuation, task, timer)
            return nil
        }
        if let early {
            timer.cancel()
            continuation.resume(with: early)
        } else {
            task.resume()
        }
    }

    func finish(_ outcome: Result<Int, any Error>) {
        let (continuation, task, timer) = state.withLock { state -> (CheckedContinuation<Int, any Error>?, URLSessionDataTask?, Task<Void, any Error>?) in
            guard state.outcome == nil else { return (nil, nil, nil) }
            state.outcome = outcome
            defer { (state.continuation, state.task, state.timer) = (nil, nil, nil) }
            return (state.continuation, state.task, state.timer)
        }
        timer?.cancel()
        if case .failure = outcome { task?.cancel() }
        continuation?.resume(with: outcome)
    }
}

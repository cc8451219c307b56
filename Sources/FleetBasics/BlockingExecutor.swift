import Foundation
import Synchronization

/// The one place where gwi-fleet runs blocking work (libpq calls, pipe relays, file hashing):
/// threads of its own, never Swift's cooperative pool, so sixteen venues waiting on the network
/// park sixteen of these threads and leave the pool free for timers and the runner.
///
/// Threads are started on demand up to `limit`, kept while work arrives and end after a few idle
/// seconds. Work beyond the limit waits for a free thread. The limit is far above what a run needs
/// (a venue uses at most a connection and a few pipe relays at once), so waiting work never waits
/// on other waiting work.
public final class BlockingExecutor: Sendable {
    /// Shared by every connection, pipeline and file operation of the process.
    public static let shared = BlockingExecutor(limit: 1024)

    public let limit: Int
    private let state = Mutex(State())
    // NSCondition is how a Foundation thread sleeps until work arrives; it guards nothing else.
    private let wakeUp = ConditionBox()

    private struct State {
        var queue: [@Sendable () -> Void] = []
        var threads = 0
        var idle = 0
    }

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Runs `work` on one of the executor's threads and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try work() }) }
        }
    }

    /// `run` for work that cannot fail.
    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: work()) }
        }
    }

    /// Queues `work` without waiting for it.
    public func submit(_ work: @escaping @Sendable () -> Void) {
        let startThread = state.withLock { state -> Bool in
            state.queue.append(work)
            if state.idle >= state.queue.count { return false }
            guard state.threads < limit else { return false }
            state.threads += 1
            return true
        }
        if startThread {
            let thread = Thread { [self] in workLoop() }
            thread.name = "gwi-fleet.blocking"
            thread.start()
        } else {
            wakeUp.signal()
        }
    }

    /// Threads currently alive (for tests and diagnostics).
    public var threadCount: Int { state.withLock { $0.threads } }

    private func workLoop() {
        while let work = next() { work() }
    }

    private func next() -> (@Sendable () -> Void)? {
        while true {
            let item = state.withLock { state -> (@Sendable () -> Void)? in
                if state.queue.isEmpty { state.idle += 1; return nil }
                return state.queue.removeFirst()
            }
            if let item { return item }
            let woken = wakeUp.wait(seconds: 5)
            let exit = state.withLock { state -> Bool in
                state.idle -= 1
                if !woken && state.queue.isEmpty {
                    state.threads -= 1
                    return true
                }
                return false
            }
            if exit { return nil }
        }
    }
}

/// A condition variable with a pending-signal count, so a signal sent before the wait is not lost.
private final class ConditionBox: Sendable {
    private let pending = Mutex(0)
    // NSCondition's own lock protects nothing but the sleep; `pending` carries the signals.
    private let condition = NSCondition()

    func signal() {
        condition.lock()
        pending.withLock { $0 += 1 }
        condition.signal()
        condition.unlock()
    }

    /// True when a signal arrived, false after `seconds` with none.
    func wait(seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: seconds)
        while true {
            let taken = pending.withLock { count -> Bool in
                guard count > 0 else { return false }
                count -= 1
                return true
            }
            if taken { return true }
            if !condition.wait(until: deadline) { return false }
        }
    }
}

import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT and SIGTERM into calls of `onSignal` (the run's cancellation), one per signal.
/// While it watches, the signals no longer end the process: the run stops its venues and writes
/// its report; once it stops watching, they end the process again.
final class SignalWatcher: Sendable {
    // Set once in init and never changed; DispatchSource's cancel is safe from any thread.
    nonisolated(unsafe) private let sources: [any DispatchSourceSignal]
    private let state = SignalFlag()

    init(onSignal: @escaping @Sendable () -> Void) {
        let queue = DispatchQueue(label: "gwi-fleet.signals")
        let state = self.state
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler {
                _ = state.raise()
                onSignal()
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    /// True once a signal arrived.
    var fired: Bool { state.fired }

    func stop() {
        sources.forEach { $0.cancel() }
        for signalNumber in [SIGINT, SIGTERM] { signal(signalNumber, SIG_DFL) }
    }
}

/// Set once, by the first signal.
private final class SignalFlag: Sendable {
    private let value = Mutex(false)
    /// Sets the flag; true only for the first caller.
    func raise() -> Bool { value.withLock { fired in defer { fired = true }; return !fired } }
    var fired: Bool { value.withLock { $0 } }
}

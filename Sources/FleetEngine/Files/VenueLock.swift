import Foundation

/// An exclusive, non-blocking lock on a venue's backup directory (`flock` on `.lock`). The kernel
/// drops it when the process dies, so a killed run never leaves a venue locked.
///
/// A lock that was just released can look taken for a moment: a child being started elsewhere in
/// the process holds a copy of every descriptor between fork and exec. So a taken lock is tried
/// again for up to `patience` before the venue is reported locked; a real concurrent run holds it
/// far longer.
final class VenueLock: Sendable {
    private let descriptor: Int32

    static func acquire(directory: String, patience: Duration = .seconds(1)) async throws -> VenueLock {
        let deadline = ContinuousClock.now + patience
        while true {
            do {
                return try VenueLock(directory: directory)
            } catch FleetEngineError.locked(let path) {
                guard ContinuousClock.now < deadline else { throw FleetEngineError.locked(path: path) }
                try await Task.sleep(for: .milliseconds(25))
            }
        }
    }

    /// Opens and locks `.lock`. The descriptor is closed here on failure and only owned by a
    /// lock once taken: a throwing class initializer would still run `deinit` after its stored
    /// properties are set, closing the descriptor a second time, by then perhaps another file's
    /// (a child's pidfd, a pipe) opened meanwhile on another thread.
    private convenience init(directory: String) throws {
        let path = directory + "/.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FleetEngineError.file(path: path, operation: "open lock", errno: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw FleetEngineError.locked(path: path)
        }
        self.init(locked: descriptor)
    }

    private init(locked descriptor: Int32) {
        self.descriptor = descriptor
        ftruncate(descriptor, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { Foundation.write(descriptor, $0, strlen($0)) }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

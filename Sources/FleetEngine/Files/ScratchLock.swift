import Foundation

/// A lock on one scratch place a run makes (a point-in-time recovery's scratch cluster, a Neon
/// branch), held from before the place is asked for until it is gone: `leftovers` removes only
/// places nobody holds. One host-wide directory for every user and every fleet (`/run/lock`,
/// which systemd's `PrivateTmp` and a changed `$TMPDIR` do not hide; `/tmp` where there is none),
/// sticky and world-writable like `/tmp` itself; the lock file goes when the place does.
final class ScratchLock: Sendable {
    private let descriptor: Int32
    let path: String

    /// The host-wide directory of scratch locks.
    static var directory: String {
        var isDirectory: ObjCBool = false
        let base = FileManager.default.fileExists(atPath: "/run/lock", isDirectory: &isDirectory) && isDirectory.boolValue
            && access("/run/lock", W_OK) == 0 ? "/run/lock" : "/tmp"
        return base + "/gwi-fleet-scratch-locks"
    }

    /// Takes the lock of `name` (a scratch directory's or a branch's name), or throws `locked`.
    init(_ name: String) throws {
        let directory = Self.directory
        if mkdir(directory, 0o1777) == 0 { chmod(directory, 0o1777) }
        path = directory + "/" + name + ".lock"
        // Read-only is enough for flock, and lets another user open a lock file this one made.
        let descriptor = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else { throw FleetEngineError.file(path: path, operation: "open the scratch lock", errno: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw FleetEngineError.locked(path: path)
        }
        self.descriptor = descriptor
    }

    /// The place is gone: its lock file goes too (names are never reused: they carry a time and
    /// random hex, or a run id).
    func remove() {
        unlink(path)
    }

    deinit {
        close(descriptor)
    }
}

import Foundation

/// A pipe whose both ends are close-on-exec from the start (`pipe2(O_CLOEXEC)`), so no child
/// started meanwhile by another venue inherits an end and keeps it open.
enum Pipe {
    static func make() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard let pipe2 else { throw FleetEngineError.file(path: "pipe", operation: "create (no pipe2 in libc)", errno: ENOSYS) }
        guard pipe2(&ends, O_CLOEXEC) == 0 else { throw FleetEngineError.file(path: "pipe", operation: "create", errno: errno) }
        _ = fcntl(ends[0], setPipeSize, 1 << 20)  // best effort; the default 64 KiB also works
        return (ends[0], ends[1])
    }

    // Glibc's Swift module does not export pipe2; it is looked up by name.
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private static let pipe2: Pipe2? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2") else { return nil }
        return unsafeBitCast(symbol, to: Pipe2.self)
    }()

    /// Linux's F_SETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 7), which Glibc's Swift module does not export.
    static let setPipeSize: Int32 = 1031
}

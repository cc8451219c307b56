import FleetBasics
import Foundation

/// A file written under a temporary name beside its final one, then fsynced and renamed, so a
/// reader never sees a half-written file under the final name. Until `commit()`, the file is
/// `.<name>.partial`; `abandon()` (or an error) removes it.
public final class DurableFile {
    public let finalPath: String
    public let temporaryPath: String
    /// The open temporary file, for writers that stream into it directly.
    public private(set) var descriptor: Int32

    /// Creates `.<name>.partial` (mode 0600), failing if it already exists.
    init(finalPath: String) throws {
        self.finalPath = finalPath
        let url = URL(fileURLWithPath: finalPath)
        temporaryPath = url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".partial").path
        unlink(temporaryPath)  // a leftover from a killed run of ours, under the venue lock
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FleetEngineError.file(path: temporaryPath, operation: "create", errno: errno) }
    }

    deinit { abandon() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try Self.write(bytes, to: descriptor)
    }

    /// Writes all of `bytes` to a descriptor, for writers on other threads (COPY sinks), and
    /// starts writing it back to disk at once, so the final fsync has little left to wait for.
    static func write(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw FleetEngineError.file(path: "output file", operation: "write", errno: errno)
            }
            offset += written
        }
        if bytes.count >= 256 * 1024 { startWriteback(descriptor) }
    }

    /// `sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)`: queue the dirty pages for writing
    /// without waiting. Glibc's Swift module does not export it, so it is looked up by name; where
    /// it is missing this does nothing and fsync does all the work.
    static func startWriteback(_ descriptor: Int32) {
        _ = syncFileRange?(descriptor, 0, 0, 2 /* SYNC_FILE_RANGE_WRITE */)
    }

    private typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    private static let syncFileRange: SyncFileRange? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: SyncFileRange.self)
    }()

    func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// fsync, rename to the final name, fsync the directory: after this the file survives a crash.
    /// `replacing: false` fails with EEXIST instead of replacing a file of that name.
    public func commit(replacing: Bool = true) throws {
        guard descriptor >= 0 else { return }
        let fd = descriptor
        descriptor = -1
        try Self.finish(fd, temporaryPath: temporaryPath, finalPath: finalPath, replacing: replacing)
    }

    /// `commit` with its waits (the fsync of a file of gigabytes, the directory's) on a thread of
    /// the blocking executor, not on the cooperative pool that runs every venue's work.
    public func commitOffThePool(replacing: Bool = true) async throws {
        guard descriptor >= 0 else { return }
        let (fd, temporaryPath, finalPath) = (descriptor, temporaryPath, finalPath)
        descriptor = -1
        try await BlockingExecutor.shared.run {
            try Self.finish(fd, temporaryPath: temporaryPath, finalPath: finalPath, replacing: replacing)
        }
    }

    /// Closes `descriptor` whatever happens; on any failure the temporary file is removed.
    private static func finish(_ descriptor: Int32, temporaryPath: String, finalPath: String, replacing: Bool) throws {
        guard fsync(descriptor) == 0 else {
            let code = errno
            close(descriptor)
            unlink(temporaryPath)
            throw FleetEngineError.file(path: temporaryPath, operation: "fsync", errno: code)
        }
        close(descriptor)
        let moved = replacing ? rename(temporaryPath, finalPath) : link(temporaryPath, finalPath)
        guard moved == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw FleetEngineError.file(path: finalPath, operation: "rename into place", errno: code)
        }
        if !replacing { unlink(temporaryPath) }
        Self.syncDirectory(of: finalPath)
    }

    /// Closes and removes the temporary file; nothing under the final name is touched.
    public func abandon() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporaryPath)
    }

    /// Writes a whole small file durably (manifests, reports).
    public static func write(_ data: Data, to path: String) throws {
        let file = try DurableFile(finalPath: path)
        try file.write(data)
        try file.commit()
    }

    /// Rewrites an existing small file in its own blocks (no new file, so it works on a full disk):
    /// write from the start, cut to the new length, fsync.
    static func overwriteInPlace(_ data: Data, at path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { throw FleetEngineError.file(path: path, operation: "open", errno: errno) }
        defer { close(descriptor) }
        var offset = 0
        try data.withUnsafeBytes { bytes in
            while offset < bytes.count {
                let written = pwrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset, off_t(offset))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw FleetEngineError.file(path: path, operation: "write", errno: errno)
                }
                offset += written
            }
        }
        guard ftruncate(descriptor, off_t(data.count)) == 0, fsync(descriptor) == 0 else {
            throw FleetEngineError.file(path: path, operation: "write", errno: errno)
        }
    }

    /// `write`, refusing to replace a file that exists (`link` is atomic where `rename` replaces).
    static func writeNew(_ data: Data, to path: String) throws {
        let file = try DurableFile(finalPath: path)
        try file.write(data)
        try file.commit(replacing: false)
    }

    /// Reads a whole file in 1 MiB chunks.
    static func readChunks(of path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FleetEngineError.file(path: path, operation: "open", errno: errno) }
        defer { close(descriptor) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count == 0 { return }
            if count < 0 {
                if errno == EINTR { continue }
                throw FleetEngineError.file(path: path, operation: "read", errno: errno)
            }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    static func syncDirectory(of path: String) {
        let directory = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { return }
        fsync(directory)
        close(directory)
    }

    /// Creates a directory (and parents) with mode 0700, tightening an existing one we own.
    static func makePrivateDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw FleetEngineError.file(path: path, operation: "use as a directory (it exists and is a file)", errno: ENOTDIR)
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            // The POSIX code FileManager saw, not whatever errno holds by now.
            let code = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError).map { Int32($0.code) } ?? EACCES
            throw FleetEngineError.file(path: path, operation: "create directory", errno: code)
        }
        chmod(path, 0o700)
    }
}

import Foundation

/// Polls `condition` until it holds or `seconds` pass; true when it held. Tests wait on what they
/// need to see (a session waiting on a lock, a report on disk), never for a fixed time.
public func waitUntil(seconds: Double = 30, every interval: Duration = .milliseconds(50),
                      _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: interval)
    }
}

/// A loopback TCP port the kernel says is free now (bound to port 0 and released): a server of
/// the tests starts on it, and retries with another should something take it in between.
public enum FreePort {
    public static func pick() -> Int {
        guard let (descriptor, port) = try? LoopbackSocket.bound() else { return Int.random(in: 20_000...60_000) }
        close(descriptor)
        return port
    }
}

/// A TCP socket bound to 127.0.0.1 on a port the kernel chooses.
enum LoopbackSocket {
    static func bound() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Shell.Failure(message: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            let message = String(cString: strerror(errno))
            close(descriptor)
            throw Shell.Failure(message: "bind: \(message)")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }
}

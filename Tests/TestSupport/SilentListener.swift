import Foundation

/// A TCP listener on 127.0.0.1 that completes every handshake (the kernel's backlog does) and
/// never says a word: what a half-open host or a hung proxy looks like to a client.
public final class SilentListener: Sendable {
    public let port: Int
    private let descriptor: Int32

    public init() throws {
        let (descriptor, port) = try LoopbackSocket.bound()
        guard listen(descriptor, 64) == 0 else {
            close(descriptor)
            throw Shell.Failure(message: "listen: \(String(cString: strerror(errno)))")
        }
        (self.descriptor, self.port) = (descriptor, port)
    }

    deinit { close(descriptor) }
}

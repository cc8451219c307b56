import FleetBasics
import Foundation
import PostgresClient
import Synchronization

/// Copies what `exec`'s command writes (its stdout and stderr, through one pipe) into the venue's
/// log line by line, with every known secret replaced by `***` (and URL passwords, as in every
/// message of gwi-fleet). The copy runs on a thread of the blocking executor; `finish()` waits
/// for the pipe's end, or 2 s after the command ended when something it left behind holds the
/// pipe open.
final class RedactingLog: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let copying = Mutex<Task<Void, Never>?>(nil)

    /// Takes ownership of `readEnd` (closed when the copy ends); `log` stays the caller's.
    init(from readEnd: Int32, to log: Int32, secrets: [String]) {
        let secrets = Set(secrets).sorted { $0.utf8.count > $1.utf8.count }.map { Array($0.utf8) }
        let task = Task { [self] in
            await BlockingExecutor.shared.run { self.copy(readEnd, to: log, secrets: secrets) }
        }
        copying.withLock { $0 = task }
    }

    /// Call once the command has ended (and our copy of the pipe's write end is closed).
    func finish() async {
        stopping.store(true, ordering: .releasing)
        await copying.withLock { $0 }?.value
    }

    private func copy(_ readEnd: Int32, to log: Int32, secrets: [[UInt8]]) {
        defer { close(readEnd) }
        var pending = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var deadline: ContinuousClock.Instant?
        var writable = true
        func emit(_ bytes: ArraySlice<UInt8>) {
            guard writable else { return }
            let text = Self.redact(bytes, secrets)
            writable = text.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(log, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return false  // a full disk: keep draining the pipe so the command never blocks
                    }
                    offset += written
                }
                return true
            }
        }
        while true {
            if deadline == nil, stopping.load(ordering: .acquiring) { deadline = .now + .seconds(2) }
            if let deadline, ContinuousClock.now > deadline { break }
            var descriptor = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 100)
            if ready < 0 { if errno == EINTR { continue } else { break } }
            if ready == 0 { continue }
            let count = read(readEnd, &buffer, buffer.count)
            if count < 0 { if errno == EINTR || errno == EAGAIN { continue } else { break } }
            if count == 0 { break }
            pending.append(contentsOf: buffer[0..<count])
            if let newline = pending.lastIndex(of: 10) {
                emit(pending[...newline])
                pending.removeFirst(newline + 1)
            } else if pending.count > 1 << 20 {
                emit(pending[...])
                pending.removeAll()
            }
        }
        if !pending.isEmpty { emit(pending[...]) }
    }

    /// The bytes with every secret (longest first) replaced; URL passwords too where the text is UTF-8.
    static func redact(_ bytes: ArraySlice<UInt8>, _ secrets: [[UInt8]]) -> [UInt8] {
        var result = Array(bytes)
        for secret in secrets where !secret.isEmpty && result.count >= secret.count {
            var output = [UInt8]()
            output.reserveCapacity(result.count)
            var index = 0
            while index < result.count {
                if result[index] == secret[0], index + secret.count <= result.count, result[index..<(index + secret.count)].elementsEqual(secret) {
                    output.append(contentsOf: Array("***".utf8))
                    index += secret.count
                } else {
                    output.append(result[index])
                    index += 1
                }
            }
            result = output
        }
        if let text = String(validating: result, as: UTF8.self) {
            return Array(text.split(separator: "\n", omittingEmptySubsequences: false).map { ConnectionInfo.redacting(String($0)) }
                .joined(separator: "\n").utf8)
        }
        return result
    }
}

import FleetBasics
import Foundation
import Synchronization

/// A chain of byte stages: a source, any number of stages, a sink, all streaming at once.
///
/// `pg_dump → [zstd] → [age] → file` for a backup, `file → [age -d] → [zstd -d] → pg_restore` for a
/// restore. Child processes are joined by close-on-exec pipes; where a `DigestTap` sits (and before
/// a file sink), a relay on a blocking thread reads, hashes and passes the bytes on. Nothing is held
/// in memory beyond one 1 MiB buffer per relay. Cancelling the calling task stops every process of
/// the chain (with their process groups). A failing stage is named in the error; when several
/// fail, the most upstream one that did not merely lose its reader is reported.
public struct BytePipeline: Sendable {
    /// Where the bytes come from.
    public enum Source: Sendable {
        case process(ChildProcess)
        case file(String)
    }

    /// What the bytes pass through.
    public enum Stage: Sendable {
        case process(ChildProcess)
        case tap(DigestTap)
    }

    /// Where the bytes end.
    public enum Sink: Sendable {
        /// An open file of ours (a `DurableFile`'s descriptor); not closed here.
        case descriptor(Int32, name: String)
        case process(ChildProcess)
    }

    public var source: Source
    public var stages: [Stage]
    public var sink: Sink

    public init(_ source: Source, _ stages: [Stage] = [], into sink: Sink) {
        self.source = source
        self.stages = stages
        self.sink = sink
    }

    /// Runs the chain to its end. Throws the failing stage's error.
    public func run() async throws {
        signal(SIGPIPE, SIG_IGN)  // a stage that dies must fail its writer with EPIPE, not kill us
        let shared = Shared()
        var elements: [@Sendable () async -> Void] = []
        var unclaimed: [Int32] = []  // descriptors to close if the chain cannot be built
        var reader: Int32
        var taps: [DigestTap] = []

        func addProcess(_ child: ChildProcess, input: Int32?, output: Int32?) {
            let position = elements.count
            elements.append { await Self.runProcess(child, input: input, output: output, index: position, shared: shared) }
        }
        func addRelay(to writer: Int32, closeWriter: Bool, name: String) {
            let (input, position, relayTaps) = (reader, elements.count, taps)
            taps = []
            elements.append {
                await Self.relay(from: input, to: writer, closeWriter: closeWriter, name: name, taps: relayTaps,
                                 index: position, shared: shared)
            }
        }
        /// The read end feeding a process: through a relay when taps are waiting.
        func input(for name: String) throws -> Int32 {
            guard !taps.isEmpty else { return reader }
            let (r, w) = try Pipe.make()
            unclaimed.append(r)
            addRelay(to: w, closeWriter: true, name: name)
            return r
        }

        do {
            switch source {
            case .file(let path):
                reader = open(path, O_RDONLY | O_CLOEXEC)
                guard reader >= 0 else { throw FleetEngineError.file(path: path, operation: "open", errno: errno) }
            case .process(let child):
                let (r, w) = try Pipe.make()
                addProcess(child, input: nil, output: w)
                reader = r
            }
            unclaimed.append(reader)
            for stage in stages {
                switch stage {
                case .tap(let tap):
                    taps.append(tap)
                case .process(let child):
                    let stdin = try input(for: child.name)
                    let (r, w) = try Pipe.make()
                    unclaimed.append(r)
                    addProcess(child, input: stdin, output: w)
                    reader = r
                }
            }
            switch sink {
            case .descriptor(let fd, let name):
                addRelay(to: fd, closeWriter: false, name: name)
            case .process(let child):
                addProcess(child, input: try input(for: child.name), output: nil)
            }
        } catch {
            for fd in Set(unclaimed) { close(fd) }
            throw error
        }

        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                for element in elements { group.addTask { await element() } }
            }
        } onCancel: {
            shared.stop.withLock { $0 = true }
        }
        try Task.checkCancellation()
        if let error = shared.firstFailure() { throw error }
    }

    /// What the elements of one run share: their failures and the stop flag for relays.
    final class Shared: Sendable {
        struct Failure { var index: Int; var error: FleetEngineError; var lostReader: Bool }
        let failures = Mutex<[Failure]>([])
        let stop = Mutex(false)

        func record(_ index: Int, _ error: FleetEngineError, lostReader: Bool = false) {
            failures.withLock { $0.append(Failure(index: index, error: error, lostReader: lostReader)) }
        }

        func firstFailure() -> FleetEngineError? {
            let all = failures.withLock { $0 }.sorted { $0.index < $1.index }
            return (all.first { !$0.lostReader } ?? all.first)?.error
        }
    }

    private static func runProcess(_ child: ChildProcess, input: Int32?, output: Int32?, index: Int, shared: Shared) async {
        do {
            let result = try await child.run(input: input.map { .descriptor($0) } ?? .none,
                                             output: output.map { .descriptor($0, closeAfterStart: true) } ?? .discarded)
            if !result.succeeded {
                shared.record(index, child.failure(result), lostReader: result.status == .signaled(SIGPIPE))
            }
        } catch is CancellationError {
        } catch {
            shared.record(index, .toolFailed(tool: child.name, status: "could not be started", message: "\(error)"))
        }
    }

    /// Reads `input` to its end, feeding the taps and writing to `output`. After a write error it
    /// keeps reading and discards, so the writer upstream finishes and the real cause is reported.
    private static func relay(from input: Int32, to output: Int32, closeWriter: Bool, name: String, taps: [DigestTap],
                              index: Int, shared: Shared) async {
        let failure: FleetEngineError? = await BlockingExecutor.shared.run {
            defer {
                close(input)
                if closeWriter { close(output) }
            }
            let size = 1 << 20
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
            defer { buffer.deallocate() }
            var failure: FleetEngineError?
            var writing = true
            var digesters = taps.map { _ in Digester() }
            defer { for (tap, digester) in zip(taps, digesters) { tap.finish(digester.finalize()) } }
            while !shared.stop.withLock({ $0 }) {
                let count = read(input, buffer.baseAddress, size)
                if count == 0 { break }
                if count < 0 {
                    if errno == EINTR { continue }
                    return failure ?? .file(path: name, operation: "read the input of", errno: errno)
                }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                for i in digesters.indices { digesters[i].update(chunk) }
                guard writing else { continue }
                do {
                    try DurableFile.write(chunk, to: output)
                } catch {
                    writing = false
                    // EPIPE: the next stage stopped reading; its own exit status says why.
                    if case .file(_, _, let code) = error as? FleetEngineError, code == EPIPE, closeWriter { continue }
                    failure = (error as? FleetEngineError) ?? .file(path: name, operation: "write", errno: EIO)
                }
            }
            return failure
        }
        if let failure { shared.record(index, failure) }
    }
}

import CLibPQ
import FleetBasics
import Foundation
import Synchronization

/// Rows of a finished statement, every value in PostgreSQL's text format (nil for NULL).
public struct QueryResult: Sendable {
    public let columns: [String]
    public let rows: [[String?]]
    /// Rows affected by INSERT/UPDATE/DELETE/COPY, where the server says.
    public let affectedRows: Int?

    /// The first column of the first row: handy for `SELECT version()`-style statements.
    public var scalar: String? { rows.first?.first ?? nil }

    /// The value at `row`, `column`, or a clear error instead of a crash when the server sent
    /// fewer rows or a NULL where a value was expected.
    public func value(_ row: Int = 0, _ column: Int = 0, _ what: String) throws(PostgresError) -> String {
        guard row < rows.count, column < rows[row].count, let value = rows[row][column] else {
            throw .unexpectedResult("expected \(what), the server sent \(rows.count) rows")
        }
        return value
    }

    /// `value` as a whole number.
    public func int(_ row: Int = 0, _ column: Int = 0, _ what: String) throws(PostgresError) -> Int {
        let text = try value(row, column, what)
        guard let number = Int(text) else { throw .unexpectedResult("expected \(what) as a number, got `\(text)`") }
        return number
    }
}

/// One libpq connection driven through libpq's non-blocking API.
///
/// Every call runs on a `BlockingExecutor` thread (never the cooperative pool) that waits with
/// `poll` on the connection's socket and on a wake-up descriptor. Cancelling the calling task
/// wakes that wait: a cancel request goes to the server from a thread of its own, and if the
/// server has not answered within `cancelGrace` the connection is abandoned. So a deadline or a
/// Ctrl-C ends every wait on the server, also one that never answers (half-open host, stopped
/// backend). Connecting is polled the same way, with `connect_timeout` enforced here.
public final class PostgresConnection: @unchecked Sendable {
    // @unchecked because `handle` is a C pointer. It is only used by one call at a time (the
    // `busy` flag refuses a second), on the executor thread running that call, or in `deinit`.
    // The cancel token is used only by the cancel thread, which holds a reference to `self`.
    private let handle: OpaquePointer
    private let cancelToken: OpaquePointer?
    private let wake: WakeUp
    private let state = Mutex(State())
    /// `server_version_num` of the server, e.g. 150018.
    public let serverVersion: Int
    /// Host and database, for messages (no password).
    public let endpoint: String
    /// How long a cancelled call waits for the server to confirm before abandoning the connection.
    public static let cancelGrace: Duration = .milliseconds(500)

    private struct State {
        var busy = false
        var cancelRequested = false
        var broken: String?
    }

    private init(handle: OpaquePointer, wake: WakeUp, endpoint: String) {
        self.handle = handle
        self.wake = wake
        self.endpoint = endpoint
        self.serverVersion = Int(PQserverVersion(handle))
        self.cancelToken = PQgetCancel(handle)
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    /// The connection closes when the last reference goes away (PQfinish only sends Terminate).
    deinit {
        if let cancelToken { PQfreeCancel(cancelToken) }
        PQfinish(handle)
    }

    /// Settings added unless the connection string sets them: a connect timeout, and TCP
    /// keepalives so a host that vanishes mid-statement is noticed.
    static let defaults: [(String, String)] = [
        ("connect_timeout", "10"), ("keepalives", "1"), ("keepalives_idle", "30"), ("keepalives_interval", "10"),
        ("keepalives_count", "3"),
    ]

    /// Opens a connection; cancelling the task abandons the attempt at once.
    public static func connect(
        _ info: ConnectionInfo, applicationName: String = "gwi-fleet"
    ) async throws -> PostgresConnection {
        try Task.checkCancellation()
        var options = info.options
        for (keyword, value) in defaults where info[keyword] == nil { options.append(.init(keyword: keyword, value: value)) }
        options.append(.init(keyword: "fallback_application_name", value: applicationName))
        if let password = info.password { options.append(.init(keyword: "password", value: password)) }
        options += info.secretOptions
        let keywords = options.map(\.keyword), values = options.map(\.value)
        let endpoint = info.endpoint
        let hosts = max(1, (info["host"] ?? info["hostaddr"] ?? "").split(separator: ",").count)
        let timeout = Double(options.first { $0.keyword == "connect_timeout" }?.value ?? "") ?? 10
        let wake = try WakeUp()
        let cancelled = Mutex(false)
        return try await withTaskCancellationHandler {
            try await BlockingExecutor.shared.run { () throws -> PostgresConnection in
                guard let handle = withCStrings(keywords, { k in withCStrings(values) { v in PQconnectStartParams(k, v, 0) } }) else {
                    throw PostgresError.connectionFailed("out of memory")
                }
                do {
                    try Self.completeConnection(handle, wake: wake, limit: timeout > 0 ? timeout * Double(hosts) : nil,
                                                cancelled: { cancelled.withLock { $0 } })
                    return PostgresConnection(handle: handle, wake: wake, endpoint: endpoint)
                } catch {
                    PQfinish(handle)
                    throw error
                }
            }
        } onCancel: {
            cancelled.withLock { $0 = true }
            wake.signal()
        }
    }

    private static func completeConnection(_ handle: OpaquePointer, wake: WakeUp, limit: Double?,
                                           cancelled: () -> Bool) throws {
        guard PQstatus(handle) != CONNECTION_BAD else { throw PostgresError.connectionFailed(message(of: handle)) }
        let deadline = limit.map { ContinuousClock.now + .milliseconds(Int($0 * 1000)) }
        var pollStatus = PGRES_POLLING_WRITING
        while true {
            switch pollStatus {
            case PGRES_POLLING_OK:
                guard PQsetnonblocking(handle, 1) == 0 else { throw PostgresError.connectionFailed(message(of: handle)) }
                return
            case PGRES_POLLING_FAILED:
                throw PostgresError.connectionFailed(message(of: handle))
            default:
                let events = pollStatus == PGRES_POLLING_READING ? Int16(POLLIN) : Int16(POLLOUT)
                let remaining = deadline.map { ContinuousClock.now.duration(to: $0) }
                if let remaining, remaining <= .zero {
                    throw PostgresError.connectionFailed("timeout expired after \(Int(limit ?? 0))s (connect_timeout)")
                }
                switch wake.wait(socket: PQsocket(handle), events: events, timeout: remaining) {
                case .woken: if cancelled() { throw PostgresError.cancelled }
                case .ready, .timedOut: break
                }
                pollStatus = PQconnectPoll(handle)
            }
        }
    }

    /// Runs one statement with `$1…$n` text parameters (extended protocol: one statement only).
    public func query(_ sql: String, _ parameters: [String?] = []) async throws -> QueryResult {
        try await call { connection in
            let sent = withOptionalCStrings(parameters) { values in
                PQsendQueryParams(connection.handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
            }
            try connection.checkSent(sent)
            return try connection.finishResults()
        }
    }

    /// Runs one or more statements without parameters, e.g. `BEGIN` or a script; returns the
    /// last statement's result and throws the first error.
    @discardableResult
    public func execute(_ sql: String) async throws -> QueryResult {
        try await call { connection in
            try connection.checkSent(PQsendQuery(connection.handle, sql))
            return try connection.finishResults()
        }
    }

    /// Runs one `COPY … TO STDOUT` and hands each chunk of bytes to `sink` as it arrives, so nothing
    /// is held in memory. `sink` runs on an executor thread. Returns the bytes copied. Sent with
    /// the extended protocol, so a second statement smuggled into `sql` is refused by the server.
    @discardableResult
    public func copyOut(
        _ sql: String, into sink: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Void
    ) async throws -> Int {
        try await call { connection in
            try connection.checkSent(PQsendQueryParams(connection.handle, sql, 0, nil, nil, nil, nil, 0))
            try connection.waitWhileBusy()
            guard let start = PQgetResult(connection.handle) else {
                throw PostgresError.connectionLost(Self.message(of: connection.handle))
            }
            guard PQresultStatus(start) == PGRES_COPY_OUT else {
                _ = try? Self.consume(start, handle: connection.handle)
                _ = try connection.finishResults()
                throw PostgresError.queryFailed(sqlState: nil, message: "statement is not COPY … TO STDOUT")
            }
            PQclear(start)
            return try connection.drainCopy(into: sink)
        }
    }

    // MARK: - The non-blocking protocol, on an executor thread

    private func checkSent(_ status: Int32) throws {
        guard status == 1 else { throw PostgresError.connectionLost(Self.message(of: handle)) }
        // Non-blocking mode: the query may still sit in libpq's buffer.
        while true {
            let flushed = PQflush(handle)
            if flushed == 0 { return }
            if flushed < 0 { throw PostgresError.connectionLost(Self.message(of: handle)) }
            try waitForSocket(events: Int16(POLLIN | POLLOUT))
            if PQconsumeInput(handle) == 0 { throw PostgresError.connectionLost(Self.message(of: handle)) }
        }
    }

    private func waitWhileBusy() throws {
        while PQisBusy(handle) == 1 {
            try waitForSocket(events: Int16(POLLIN))
            if PQconsumeInput(handle) == 0 { throw PostgresError.connectionLost(Self.message(of: handle)) }
        }
    }

    /// Reads every result of what was sent; returns the last, throws the first error (after
    /// reading the rest, so the connection stays usable).
    private func finishResults() throws -> QueryResult {
        var last: QueryResult?
        var failure: Error?
        while true {
            try waitWhileBusy()
            guard let result = PQgetResult(handle) else { break }
            switch PQresultStatus(result) {
            case PGRES_COPY_OUT, PGRES_COPY_IN, PGRES_COPY_BOTH:
                // Not expected here (COPY goes through copyOut): end it rather than loop on it.
                let copyIn = PQresultStatus(result) == PGRES_COPY_IN
                PQclear(result)
                failure = failure ?? PostgresError.queryFailed(sqlState: nil, message: "COPY is only allowed through export")
                if copyIn { _ = PQputCopyEnd(handle, "not allowed") } else { _ = try? drainCopy { _ in } }
            default:
                do { last = try Self.consume(result, handle: handle) } catch { failure = failure ?? error }
            }
        }
        if let failure { throw failure }
        return last ?? QueryResult(columns: [], rows: [], affectedRows: nil)
    }

    private func drainCopy(into sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        // Rows arrive one at a time; hand them on in chunks of about 1 MiB so the sink makes one
        // write per chunk, not one per row.
        let chunkSize = 1 << 20
        var pending = [UInt8]()
        pending.reserveCapacity(chunkSize + 64 * 1024)
        var total = 0
        var sinkError: Error?
        func flush() {
            guard !pending.isEmpty, sinkError == nil else { pending.removeAll(keepingCapacity: true); return }
            do {
                try pending.withUnsafeBytes { try sink($0) }
                total += pending.count
            } catch {
                // Stop the server and keep draining, so the connection stays usable.
                sinkError = error
                requestServerCancel()
            }
            pending.removeAll(keepingCapacity: true)
        }
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(handle, &buffer, 1)
            if length > 0, let buffer {
                if sinkError == nil {
                    buffer.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                        pending.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(length)))
                    }
                    if pending.count >= chunkSize { flush() }
                }
                PQfreemem(buffer)
            } else if length == 0 {
                try waitForSocket(events: Int16(POLLIN))
                if PQconsumeInput(handle) == 0 { throw PostgresError.connectionLost(Self.message(of: handle)) }
            } else if length == -1 {
                flush()
                break
            } else {
                throw PostgresError.connectionLost(Self.message(of: handle))
            }
        }
        // The final result tells whether COPY succeeded on the server.
        let result: Result<QueryResult, Error> = Result { try finishResults() }
        if let sinkError { throw sinkError }
        _ = try result.get()
        return total
    }

    /// Waits until the socket is ready. On cancellation: a cancel request to the server, then up
    /// to `cancelGrace` for its answer, then the connection is given up.
    private func waitForSocket(events: Int16) throws {
        var cancelSentAt: ContinuousClock.Instant?
        while true {
            let timeout = cancelSentAt.map { Self.cancelGrace - (ContinuousClock.now - $0) }
            if let timeout, timeout <= .zero {
                state.withLock { $0.broken = "abandoned: the server did not answer a cancel request" }
                throw PostgresError.cancelled
            }
            switch wake.wait(socket: PQsocket(handle), events: events, timeout: timeout) {
            case .ready:
                return
            case .timedOut:
                continue
            case .woken:
                if cancelSentAt == nil && state.withLock({ $0.cancelRequested }) {
                    cancelSentAt = .now
                    requestServerCancel()
                }
            }
        }
    }

    /// `PQcancel` handed to a blocking thread: it opens a new connection to the server and may
    /// block. The closure holds `self`, so the token outlives the request.
    private func requestServerCancel() {
        guard cancelToken != nil else { return }
        BlockingExecutor.shared.submit { [self] in
            var errorBuffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(cancelToken, &errorBuffer, Int32(errorBuffer.count))
        }
    }

    private func call<T: Sendable>(_ work: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try Task.checkCancellation()
        try state.withLock { state in
            if let broken = state.broken { throw PostgresError.connectionLost(broken) }
            guard !state.busy else { throw PostgresError.unexpectedResult("connection used by two calls at once") }
            state.busy = true
            state.cancelRequested = false
        }
        wake.drain()
        defer { state.withLock { $0.busy = false } }
        do {
            return try await withTaskCancellationHandler {
                try await BlockingExecutor.shared.run { try work(self) }
            } onCancel: {
                self.state.withLock { $0.cancelRequested = true }
                self.wake.signal()
            }
        } catch let error as PostgresError where Task.isCancelled && (error.sqlState == "57014" || error == .cancelled) {
            throw PostgresError.cancelled
        } catch let error as PostgresError {
            if case .connectionLost(let message) = error { state.withLock { $0.broken = message } }
            throw error
        }
    }

    // MARK: - Results

    private static func consume(_ result: OpaquePointer?, handle: OpaquePointer) throws -> QueryResult {
        guard let result else {
            throw PostgresError.connectionLost(message(of: handle))
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            let columnCount = PQnfields(result)
            let rowCount = PQntuples(result)
            let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
            var rows: [[String?]] = []
            rows.reserveCapacity(Int(rowCount))
            for row in 0..<rowCount {
                rows.append((0..<columnCount).map { column in
                    PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
                })
            }
            let affected = Int(String(cString: PQcmdTuples(result)))
            return QueryResult(columns: columns, rows: rows, affectedRows: affected)
        default:
            if PQstatus(handle) != CONNECTION_OK {
                throw PostgresError.connectionLost(message(of: handle))
            }
            let sqlState = field(result, "C")
            var text = field(result, "M") ?? String(cString: PQresultErrorMessage(result))
            if let detail = field(result, "D") { text += " (\(detail))" }
            if let hint = field(result, "H") { text += " Hint: \(hint)" }
            throw PostgresError.queryFailed(sqlState: sqlState, message: text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    private static func field(_ result: OpaquePointer, _ code: UInt8) -> String? {
        guard let value = PQresultErrorField(result, Int32(code)) else { return nil }
        return String(cString: value)
    }

    private static func field(_ result: OpaquePointer, _ code: Character) -> String? {
        field(result, code.asciiValue ?? 0)
    }

    private static func message(of handle: OpaquePointer) -> String {
        String(cString: PQerrorMessage(handle))
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: "; ")
    }
}

/// An eventfd that wakes a thread waiting in `poll` on a connection's socket.
final class WakeUp: Sendable {
    let descriptor: Int32

    enum Outcome { case ready, woken, timedOut }

    init() throws {
        descriptor = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard descriptor >= 0 else { throw PostgresError.connectionFailed("cannot create an eventfd: \(String(cString: strerror(errno)))") }
    }

    deinit { close(descriptor) }

    func signal() {
        var one: UInt64 = 1
        _ = Foundation.write(descriptor, &one, 8)
    }

    /// Forgets a wake-up left from an earlier call.
    func drain() {
        var value: UInt64 = 0
        _ = read(descriptor, &value, 8)
    }

    /// Waits for `events` on `socket`, a wake-up, or the timeout (nil: none).
    func wait(socket: Int32, events: Int16, timeout: Duration?) -> Outcome {
        var fds = [pollfd(fd: socket, events: events, revents: 0), pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
        let milliseconds = timeout.map { Int32(clamping: max(0, $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000 + 1)) } ?? -1
        let count = poll(&fds, 2, milliseconds)
        if count < 0 { return errno == EINTR ? .timedOut : .ready }
        if count == 0 { return .timedOut }
        if fds[1].revents != 0 {
            drain()
            return .woken
        }
        return .ready
    }
}

/// Calls `body` with a NULL-terminated array of C strings that lives for the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicates = strings.map { strdup($0) }
    defer { duplicates.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = duplicates.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Like `withCStrings`, with nil kept as a NULL pointer (a SQL NULL parameter).
private func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let duplicates = strings.map { $0.map { strdup($0) } ?? nil }
    defer { duplicates.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = duplicates.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}

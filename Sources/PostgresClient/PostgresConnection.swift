import CLibPQ
import Dispatch
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
}

/// One libpq connection. libpq calls block, so every call runs on a serial dispatch queue owned by
/// this connection, never on Swift's cooperative pool: sixteen connections waiting on the server
/// park sixteen of those threads and leave the pool free. Task cancellation sends a cancel request
/// to the server (`PQcancel`), so a cancelled venue stops its statement at once.
public final class PostgresConnection: @unchecked Sendable {
    // @unchecked because `handle` is a C pointer: it is only used on `queue` (serial) or in
    // `deinit`, when nothing else can reach it. The cancel token lives behind a Mutex, and PQcancel
    // is documented by libpq as safe to call from any thread.
    private let handle: OpaquePointer
    private let queue: DispatchQueue
    private let cancelState: Mutex<CancelState>
    /// `server_version_num` of the server, e.g. 150018.
    public let serverVersion: Int
    /// Host and database, for messages (no password).
    public let endpoint: String

    // The PGcancel pointer is only read or freed under the Mutex that holds this state.
    private struct CancelState: ~Copyable, @unchecked Sendable {
        var token: OpaquePointer?
        var cancelRequested = false
    }

    private init(handle: OpaquePointer, queue: DispatchQueue, endpoint: String) {
        self.handle = handle
        self.queue = queue
        self.endpoint = endpoint
        self.serverVersion = Int(PQserverVersion(handle))
        self.cancelState = Mutex(CancelState(token: PQgetCancel(handle)))
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    /// The connection closes when the last reference goes away (PQfinish only sends Terminate).
    deinit {
        cancelState.withLock { state in
            if let token = state.token { PQfreeCancel(token) }
            state.token = nil
        }
        PQfinish(handle)
    }

    /// Opens a connection. `connect_timeout` defaults to 10 seconds when the string sets none.
    public static func connect(
        _ info: ConnectionInfo, applicationName: String = "gwi-fleet"
    ) async throws -> PostgresConnection {
        try Task.checkCancellation()
        var options = info.options
        if info["connect_timeout"] == nil { options.append(.init(keyword: "connect_timeout", value: "10")) }
        options.append(.init(keyword: "fallback_application_name", value: applicationName))
        if let password = info.password { options.append(.init(keyword: "password", value: password)) }
        let keywords = options.map(\.keyword), values = options.map(\.value)
        let endpoint = info.endpoint
        let queue = DispatchQueue(label: "gwi-fleet.postgres.\(endpoint)")
        let connection: PostgresConnection = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                let handle = withCStrings(keywords) { keywordPointers in
                    withCStrings(values) { valuePointers in
                        PQconnectdbParams(keywordPointers, valuePointers, 0)
                    }
                }
                guard let handle else {
                    continuation.resume(throwing: PostgresError.connectionFailed("out of memory"))
                    return
                }
                guard PQstatus(handle) == CONNECTION_OK else {
                    let message = Self.message(of: handle)
                    PQfinish(handle)
                    continuation.resume(throwing: PostgresError.connectionFailed(message))
                    return
                }
                continuation.resume(returning: PostgresConnection(handle: handle, queue: queue, endpoint: endpoint))
            }
        }
        if Task.isCancelled { throw CancellationError() }
        return connection
    }

    /// Runs one statement with `$1…$n` text parameters (`PQexecParams`: one statement only).
    public func query(_ sql: String, _ parameters: [String?] = []) async throws -> QueryResult {
        try await onQueue { handle in
            let result = withOptionalCStrings(parameters) { values in
                PQexecParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
            }
            return try Self.consume(result, handle: handle)
        }
    }

    /// Runs one or more statements without parameters (`PQexec`), e.g. `BEGIN` or a script.
    @discardableResult
    public func execute(_ sql: String) async throws -> QueryResult {
        try await onQueue { handle in
            try Self.consume(PQexec(handle, sql), handle: handle)
        }
    }

    /// Runs a `COPY … TO STDOUT` and hands each chunk of bytes to `sink` as it arrives, so nothing
    /// is held in memory. `sink` runs on this connection's thread. Returns the bytes copied.
    @discardableResult
    public func copyOut(
        _ sql: String, into sink: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Void
    ) async throws -> Int {
        try await onQueue { handle in
            let start = PQexec(handle, sql)
            let startStatus = PQresultStatus(start)
            guard startStatus == PGRES_COPY_OUT else {
                _ = try Self.consume(start, handle: handle)
                throw PostgresError.queryFailed(sqlState: nil, message: "statement is not COPY … TO STDOUT")
            }
            PQclear(start)
            // Rows arrive one at a time; hand them on in chunks of about 1 MiB so the sink makes
            // one write per chunk, not one per row.
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
                    // Keep draining so the connection stays usable; stop the server first.
                    sinkError = error
                    self.requestCancel()
                }
                pending.removeAll(keepingCapacity: true)
            }
            while true {
                var buffer: UnsafeMutablePointer<CChar>?
                let length = PQgetCopyData(handle, &buffer, 0)
                if length > 0, let buffer {
                    if sinkError == nil {
                        buffer.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                            pending.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(length)))
                        }
                        if pending.count >= chunkSize { flush() }
                    }
                    PQfreemem(buffer)
                } else if length == -1 {
                    flush()
                    break
                } else {
                    throw PostgresError.connectionLost(Self.message(of: handle))
                }
            }
            // The final result tells whether COPY succeeded on the server.
            var failure: Error?
            while let result = PQgetResult(handle) {
                do { _ = try Self.consume(result, handle: handle) } catch { failure = failure ?? error }
            }
            if let sinkError { throw sinkError }
            if let failure { throw failure }
            return total
        }
    }

    // MARK: - Running work off the cooperative pool

    private func onQueue<T: Sendable>(_ work: @escaping @Sendable (OpaquePointer) throws -> T) async throws -> T {
        try Task.checkCancellation()
        cancelState.withLock { $0.cancelRequested = false }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    queue.async {
                        if self.cancelState.withLock({ $0.cancelRequested }) {
                            continuation.resume(throwing: PostgresError.cancelled)
                            return
                        }
                        continuation.resume(with: Result { try work(self.handle) })
                    }
                }
            } onCancel: {
                self.requestCancel()
            }
        } catch let error as PostgresError where Task.isCancelled && error.sqlState == "57014" {
            throw PostgresError.cancelled
        }
    }

    private func requestCancel() {
        cancelState.withLock { state in
            state.cancelRequested = true
            guard let token = state.token else { return }
            var errorBuffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(token, &errorBuffer, Int32(errorBuffer.count))
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

    private static func field(_ result: OpaquePointer, _ code: Character) -> String? {
        guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
        return String(cString: value)
    }

    private static func message(of handle: OpaquePointer) -> String {
        String(cString: PQerrorMessage(handle))
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: "; ")
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

import FleetModel
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The calls gwi-fleet makes to Neon's HTTP API (v2): the project (its history retention), its
/// branches, creating a branch (at a moment, with an endpoint), its operations, deleting it. The
/// API key is read from `api_key_env` when the call is made and only ever goes into the
/// `Authorization` header: never into a message, a log line or a child.
struct NeonAPI: Sendable {
    var settings: NeonSettings
    private let key: String
    /// Per request; a request that fails for a reason that may pass is tried three times.
    var requestTimeout: Duration = .seconds(30)
    /// Between two looks at the operations of a branch being made.
    var pollInterval: Duration = .milliseconds(500)

    init(_ settings: NeonSettings, environment: [String: String] = ProcessInfo.processInfo.environment) throws(NeonError) {
        guard let key = environment[settings.apiKeyEnv], !key.isEmpty else { throw .keyMissing(variable: settings.apiKeyEnv) }
        self.settings = settings
        self.key = key
    }

    struct Project: Decodable, Sendable {
        var id: String
        /// How far back a branch can be made (Neon's "restore window").
        var historyRetentionSeconds: Int?
        enum CodingKeys: String, CodingKey { case id, historyRetentionSeconds = "history_retention_seconds" }
    }

    struct Branch: Decodable, Sendable {
        var id: String
        var name: String
        var parentID: String?
        var parentTimestamp: String?
        var createdAt: String?
        /// The project's default branch (`primary` in older answers).
        var isDefault: Bool?
        var primary: Bool?
        enum CodingKeys: String, CodingKey {
            case id, name, primary, parentID = "parent_id", parentTimestamp = "parent_timestamp", createdAt = "created_at", isDefault = "default"
        }
        var created: Date? { createdAt.flatMap(Timestamp.parseRFC3339) }
    }

    struct Endpoint: Decodable, Sendable {
        var id: String
        var host: String
        var type: String?
        /// `init` until its compute has started, then `active` (or `idle` once suspended).
        var currentState: String?
        enum CodingKeys: String, CodingKey { case id, host, type, currentState = "current_state" }
    }

    struct Operation: Decodable, Sendable {
        var id: String
        var action: String?
        var status: String
        var error: String?
    }

    /// What `POST /projects/{id}/branches` answers.
    struct CreatedBranch: Decodable, Sendable {
        var branch: Branch
        var endpoints: [Endpoint]?
        var operations: [Operation]?
    }

    func project() async throws -> Project {
        struct Answer: Decodable { var project: Project }
        return try await call("GET", "/projects/\(settings.projectID)", step: "read the project", as: Answer.self).project
    }

    func branches() async throws -> [Branch] {
        struct Answer: Decodable { var branches: [Branch] }
        return try await call("GET", "/projects/\(settings.projectID)/branches", step: "list the branches", as: Answer.self).branches
    }

    /// The branch the venue databases live on: `branch` (a name or an id), else the default one.
    func parentBranch() async throws -> Branch {
        let all = try await branches()
        if let wanted = settings.branch {
            guard let found = all.first(where: { $0.id == wanted || $0.name == wanted }) else {
                throw NeonError.noSuchBranch(wanted, project: settings.projectID)
            }
            return found
        }
        guard let found = all.first(where: { $0.isDefault == true || $0.primary == true }) else {
            throw NeonError.noSuchBranch("(the default branch)", project: settings.projectID)
        }
        return found
    }

    /// A branch of `parent` at `moment` (its head when nil) with one endpoint of `endpointType`
    /// (`read_only`, `read_write`).
    func createBranch(name: String, parent: String, at moment: Date?, endpointType: String) async throws -> CreatedBranch {
        var branch: [String: String] = ["name": name, "parent_id": parent]
        if let moment { branch["parent_timestamp"] = Self.timestamp(moment) }
        let body: [String: Any] = ["branch": branch, "endpoints": [["type": endpointType]]]
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        // Making a branch can take Neon a while to answer: give it longer than other calls.
        var api = self
        api.requestTimeout = max(requestTimeout, .seconds(120))
        return try await api.call("POST", "/projects/\(settings.projectID)/branches", body: data, step: "create branch \(name)",
                                  as: CreatedBranch.self, retry: false)
    }

    /// `2026-12-01T14:32:05Z`, or `2026-12-01T14:32:05.250300Z`: to the microsecond, never
    /// rounded up past the moment (a commit in that sliver would be on the branch).
    static func timestamp(_ moment: Date) -> String {
        let micros = PgBackRest.microseconds(moment)
        let (seconds, fraction) = (micros - ((micros % 1_000_000) + 1_000_000) % 1_000_000, ((micros % 1_000_000) + 1_000_000) % 1_000_000)
        let whole = Timestamp.iso8601(Date(timeIntervalSince1970: Double(seconds) / 1_000_000)).dropLast(5)
        return whole + (fraction == 0 ? "Z" : String(format: ".%06dZ", fraction))
    }

    func operation(_ id: String) async throws -> Operation {
        struct Answer: Decodable { var operation: Operation }
        return try await call("GET", "/projects/\(settings.projectID)/operations/\(id)", step: "read operation \(id)", as: Answer.self).operation
    }

    /// Waits until every operation has finished; throws when one fails or `deadline` passes.
    func waitUntilFinished(_ operations: [Operation], what: String, until deadline: ContinuousClock.Instant) async throws {
        var pending = operations.filter { $0.status != "finished" && $0.status != "skipped" }
        while !pending.isEmpty {
            if let failed = pending.first(where: { ["failed", "error", "cancelled", "cancelling"].contains($0.status) }) {
                throw NeonError.operationFailed(what: what, action: failed.action ?? "operation \(failed.id)", status: failed.status, error: failed.error)
            }
            guard ContinuousClock.now < deadline else { throw NeonError.timedOut(what: what, waitingFor: pending.map { $0.action ?? $0.id }) }
            try await Task.sleep(for: pollInterval)
            var next: [Operation] = []
            for operation in pending {
                let now = try await self.operation(operation.id)
                if now.status != "finished" && now.status != "skipped" { next.append(now) }
            }
            pending = next
        }
    }

    /// Waits until the endpoint's compute has started (`current_state` no longer `init`): an
    /// answer without operations to wait for must not send pg_dump to a compute still starting.
    func waitUntilStarted(_ endpoint: Endpoint, what: String, until deadline: ContinuousClock.Instant) async throws {
        struct Answer: Decodable { var endpoint: Endpoint }
        var state = endpoint.currentState
        while state == nil || state == "init" {
            state = try await call("GET", "/projects/\(settings.projectID)/endpoints/\(endpoint.id)", step: "read endpoint \(endpoint.id)",
                                   as: Answer.self).endpoint.currentState ?? "active"
            if state != "init" { return }
            guard ContinuousClock.now < deadline else { throw NeonError.timedOut(what: what, waitingFor: ["endpoint \(endpoint.id) to start"]) }
            try await Task.sleep(for: pollInterval)
        }
    }

    /// Deletes a branch (its endpoints go with it); a branch already gone is not an error. Runs
    /// on a task of its own, so a cancelled run (Ctrl-C, a deadline) still deletes it.
    func deleteBranch(_ id: String, name: String) async -> String? {
        let api = self
        return await Task.detached {
            do {
                _ = try await api.call("DELETE", "/projects/\(api.settings.projectID)/branches/\(id)", step: "delete branch \(name)",
                                       as: EmptyAnswer.self, missingIsFine: true)
                return nil
            } catch {
                return "\(error)"
            }
        }.value
    }

    enum Deletion: Sendable { case deleted, notFound, failed(String) }

    /// Deletes the branch called `name` if there is one (a create whose answer never came).
    func deleteBranch(named name: String) async -> Deletion {
        let api = self
        return await Task.detached { () -> Deletion in
            do {
                guard let branch = try await api.branches().first(where: { $0.name == name }) else { return .notFound }
                return await api.deleteBranch(branch.id, name: name).map { .failed($0) } ?? .deleted
            } catch {
                return .failed("\(error)")
            }
        }.value
    }

    private struct EmptyAnswer: Decodable {}
    /// `{"code": "…", "message": "…"}`, Neon's error body.
    private struct ErrorAnswer: Decodable { var message: String?; var code: String? }

    /// One request, with the key in its header; tried three times when it fails in a way that
    /// may pass (no answer, 429, 5xx) and `retry`. The answer's JSON, decoded.
    private func call<T: Decodable>(_ method: String, _ path: String, body: Data? = nil, step: String, as: T.Type,
                                    retry: Bool = true, missingIsFine: Bool = false) async throws -> T {
        guard let url = URL(string: settings.apiURL + path) else { throw NeonError.badURL(settings.apiURL) }
        var request = URLRequest(url: url, timeoutInterval: TimeInterval(requestTimeout.components.seconds))
        request.httpMethod = method
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        request.setValue("gwi-fleet", forHTTPHeaderField: "User-Agent")
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let attempts = retry ? 3 : 1
        var backoff = Duration.milliseconds(500)
        for attempt in 1...attempts {
            let last = attempt == attempts
            let answer: (Data, Int)
            do {
                let sent = request
                answer = try await withDeadline(requestTimeout) {
                    let (data, response) = try await NeonAPI.session.data(for: sent)
                    return (data, (response as? HTTPURLResponse)?.statusCode ?? 0)
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                let reason = error is FleetEngineError ? "no answer within \(requestTimeout)" : (error as NSError).localizedDescription
                if last { throw NeonError.unreachable(step: step, api: settings.apiURL, reason: reason) }
                try await Task.sleep(for: backoff); backoff *= 2
                continue
            }
            let (data, status) = answer
            if (200..<300).contains(status) {
                if T.self == EmptyAnswer.self { return EmptyAnswer() as! T }
                do { return try JSONDecoder().decode(T.self, from: data) } catch {
                    throw NeonError.unexpectedAnswer(step: step, detail: "\(error)")
                }
            }
            if status == 404 && missingIsFine, T.self == EmptyAnswer.self { return EmptyAnswer() as! T }
            if (status == 429 || status >= 500) && !last {
                try await Task.sleep(for: backoff); backoff *= 2
                continue
            }
            let message = (try? JSONDecoder().decode(ErrorAnswer.self, from: data))?.message
                ?? String(decoding: data.prefix(300), as: UTF8.self)
            throw NeonError.http(step: step, status: status, message: message.replacingOccurrences(of: key, with: "***"))
        }
        preconditionFailure("the loop returns or throws")
    }
}

extension NeonAPI {
    /// A session that never follows a redirect: the key in the header must not go to another
    /// host (a redirect is answered as the error it is), and that keeps no cookies or cache.
    static let session = URLSession(configuration: .ephemeral, delegate: RedirectRefusal(), delegateQueue: nil)

    final class RedirectRefusal: NSObject, URLSessionTaskDelegate, Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }
}

/// What went wrong talking to Neon; never holds the API key.
enum NeonError: Error, CustomStringConvertible {
    case keyMissing(variable: String)
    case badURL(String)
    case unreachable(step: String, api: String, reason: String)
    case http(step: String, status: Int, message: String)
    case unexpectedAnswer(step: String, detail: String)
    case noSuchBranch(String, project: String)
    case operationFailed(what: String, action: String, status: String, error: String?)
    case timedOut(what: String, waitingFor: [String])
    case outsideWindow(target: Date, earliest: Date, latest: Date, retentionSeconds: Int?)
    case branchLeftBehind(name: String, id: String, project: String, reason: String)
    case createUnanswered(name: String, cause: String)

    var description: String {
        switch self {
        case .keyMissing(let variable):
            "the Neon API key variable $\(variable) (api_key_env) is not set: nothing was touched"
        case .badURL(let url):
            "Neon api_url `\(url)` is not a URL"
        case .unreachable(let step, let api, let reason):
            "Neon API (\(api)): could not \(step): \(reason)"
        case .http(let step, let status, let message):
            "Neon API: could not \(step): HTTP \(status)" + (message.isEmpty ? "" : ": \(message)")
                + (status == 401 || status == 403 ? " (check the key in api_key_env)" : "")
        case .unexpectedAnswer(let step, let detail):
            "Neon API: could not \(step): the answer was not what the API documents (\(detail))"
        case .noSuchBranch(let branch, let project):
            "Neon project \(project) has no branch \(branch)"
        case .operationFailed(let what, let action, let status, let error):
            "Neon: \(what): \(action) \(status)" + (error.map { ": \($0)" } ?? "")
        case .timedOut(let what, let waitingFor):
            "Neon: \(what): still waiting for \(waitingFor.joined(separator: ", "))"
        case .outsideWindow(let target, let earliest, let latest, let retention):
            "\(Timestamp.iso8601(target)) is outside the Neon recovery window (\(Timestamp.iso8601(earliest)) to \(Timestamp.iso8601(latest))"
                + (retention.map { ", the project's history retention of \(FleetDuration.format(.seconds($0)))" } ?? "") + "): nothing was touched"
        case .branchLeftBehind(let name, let id, let project, let reason):
            "the Neon branch \(name) (\(id)) could not be deleted (\(reason)); delete that branch in Neon's console or with "
                + "`DELETE /projects/\(project)/branches/\(id)`; `gwi-fleet leftovers` lists it meanwhile"
        case .createUnanswered(let name, let cause):
            "\(cause); Neon did not show branch \(name) afterwards, but it may still make it: `gwi-fleet leftovers` lists it if so"
        }
    }
}

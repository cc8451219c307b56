import FleetModel
import Foundation
import PostgresClient

/// Point-in-time recovery of one venue database on Neon: a branch of the venue's branch at the
/// moment (`parent_timestamp`) with a read-only endpoint, handed to the caller (who dumps the
/// database through it, with the venue's own role and password), then deleted, on success, on
/// error and on cancellation alike. The venue's branch is only read.
struct NeonRecovery: Sendable {
    var api: NeonAPI
    /// How long the branch's operations (create, start its compute) may take.
    var readyTimeout: Duration = .seconds(600)
    var now: @Sendable () -> Date = { WallClock.now() }

    init(_ settings: NeonSettings, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        api = try NeonAPI(settings, environment: environment)
    }

    /// The moments a branch can be made at: from the project's history retention back from now
    /// (or the branch's creation, if later) to now. Neon keeps WAL as it commits, so nothing lags.
    struct Window: Sendable {
        var earliest: Date
        var latest: Date
        var retentionSeconds: Int?
        var parent: NeonAPI.Branch
    }

    func window() async throws -> Window {
        let project = try await api.project()
        let parent = try await api.parentBranch()
        let now = self.now()
        var earliest = now.addingTimeInterval(-Double(project.historyRetentionSeconds ?? 0))
        if let created = parent.created, created > earliest { earliest = created }
        return Window(earliest: earliest, latest: now, retentionSeconds: project.historyRetentionSeconds, parent: parent)
    }

    /// Why a branch at `target` cannot be made, or nil.
    func refusal(for target: Date, in window: Window) -> Error? {
        if target > window.latest { return PgBackRestRecoveryError.targetInFuture(target: target, now: window.latest) }
        if target < window.earliest {
            return NeonError.outsideWindow(target: target, earliest: window.earliest, latest: window.latest, retentionSeconds: window.retentionSeconds)
        }
        return nil
    }

    /// `gwi-fleet-pitr-<slug>-<target, YYYYMMDDTHHMMSSZ>-<4 hex>`.
    static func branchName(slug: String, at target: Date) -> String {
        "gwi-fleet-pitr-\(slug)-\(Timestamp.compact(target))-" + String(format: "%04x", UInt16.random(in: 0...UInt16.max))
    }

    /// A branch made by gwi-fleet (a point-in-time recovery or a verify run's scratch branch).
    static func isOurs(_ name: String) -> Bool {
        name.hasPrefix("gwi-fleet-pitr-") || name.hasPrefix("gwi-fleet-verify-")
    }

    /// The venue's database as it was at `target`, on a branch that lives while `body` runs.
    /// `body` gets the host of the branch's read-only endpoint and the moment Neon made it at.
    func recover<T: Sendable>(slug: String, at target: Date, _ body: (_ host: String, _ branch: String, _ madeAt: Date) async throws -> T) async throws -> T {
        let window = try await window()
        if let refusal = refusal(for: target, in: window) { throw refusal }
        try Task.checkCancellation()
        return try await withBranch(named: Self.branchName(slug: slug, at: target), parent: window.parent.id, at: target,
                                    endpointType: "read_only", what: "branch at \(Timestamp.iso8601(target))") { created, host in
            let madeAt = created.branch.parentTimestamp.flatMap(Timestamp.parseRFC3339) ?? target
            return try await body(host, created.branch.name, madeAt)
        }
    }

    /// Creates a branch with one endpoint, waits until it is ready, runs `body` with its host,
    /// and deletes the branch whatever happens.
    func withBranch<T: Sendable>(named name: String, parent: String, at moment: Date?, endpointType: String, what: String,
                                 _ body: (NeonAPI.CreatedBranch, String) async throws -> T) async throws -> T {
        let created: NeonAPI.CreatedBranch
        do {
            created = try await api.createBranch(name: name, parent: parent, at: moment, endpointType: endpointType)
        } catch {
            // Interrupted or unanswered after Neon may have made it: find it by its name.
            if let problem = await api.deleteBranch(named: name) {
                RunContext.logger.error("Neon branch may be left behind", metadata: ["branch": .string(name), "reason": .string(problem)])
            }
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
        let value: T
        do {
            try await api.waitUntilFinished(created.operations ?? [], what: what, until: ContinuousClock.now + readyTimeout)
            guard let host = created.endpoints?.first?.host, !host.isEmpty else {
                throw NeonError.unexpectedAnswer(step: "create branch \(name)", detail: "no endpoint in the answer")
            }
            value = try await body(created, host)
        } catch {
            if let problem = await api.deleteBranch(created.branch.id, name: name) {
                RunContext.logger.error("Neon branch left behind", metadata: ["branch": .string(name), "reason": .string(problem)])
            }
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
        if let problem = await api.deleteBranch(created.branch.id, name: name) {
            throw NeonError.branchLeftBehind(name: name, reason: problem)
        }
        return value
    }
}

extension ConnectionInfo {
    /// The same settings (role, password, database, TLS) for another host: a Neon branch's endpoint.
    func onHost(_ host: String) -> ConnectionInfo {
        var info = self
        info["hostaddr"] = nil
        info["host"] = host
        return info
    }
}

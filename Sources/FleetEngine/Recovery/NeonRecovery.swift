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
        guard let retention = project.historyRetentionSeconds else {
            throw NeonError.unexpectedAnswer(step: "read the project", detail: "no history_retention_seconds: the window is unknown")
        }
        let parent = try await api.parentBranch()
        let now = self.now()
        var earliest = now.addingTimeInterval(-Double(retention))
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

    /// A branch gwi-fleet made for one of `slugs` (a point-in-time recovery: `gwi-fleet-pitr-<slug>-
    /// <time>-<4 hex>`) or for a verify run (`gwi-fleet-verify-<run id>[-N]`): the whole shape, never
    /// a prefix, so a branch somebody named `gwi-fleet-pitr-notes` is never taken for one.
    static func isOurs(_ name: String, slugs: Set<String>) -> Bool {
        if let match = name.wholeMatch(of: /gwi-fleet-pitr-([a-z0-9_-]+)-(\d{8}T\d{6}Z)-[0-9a-f]{4}/) {
            return slugs.contains(String(match.1)) && Timestamp.parseCompact(String(match.2)) != nil
        }
        if let match = name.wholeMatch(of: /gwi-fleet-verify-(\d{8}T\d{6}Z)-[A-Za-z0-9._-]+/) {
            return Timestamp.parseCompact(String(match.1)) != nil
        }
        return false
    }

    /// `gwi-fleet-verify-<run id>` (the run id starts with its time; a shared `GWI_RUN_ID` gets
    /// the time put before it), `-2`, `-3` … for a run's further projects or branches.
    static func verifyBranchName(runID: String, index: Int, at now: Date) -> String {
        let stamped = runID.wholeMatch(of: /\d{8}T\d{6}Z-.+/) != nil ? runID : Timestamp.compact(now) + "-" + runID
        return "gwi-fleet-verify-" + stamped + (index > 1 ? "-\(index)" : "")
    }

    /// The venue's database as it was at `target`, on a branch that lives while `body` runs.
    /// `body` gets the host of the branch's read-only endpoint and the moment Neon made it at.
    func recover<T: Sendable>(slug: String, at target: Date,
                              _ body: (_ host: String, _ branch: String, _ madeAt: Date) async throws -> T) async throws -> (T, leftBehind: String?) {
        let window = try await window()
        if let refusal = refusal(for: target, in: window) { throw refusal }
        try Task.checkCancellation()
        return try await withBranch(named: Self.branchName(slug: slug, at: target), parent: window.parent.id, at: target,
                                    endpointType: "read_only", what: "branch at \(Timestamp.iso8601(target))") { branch in
            let madeAt = branch.parentTimestamp.flatMap(Timestamp.parseRFC3339) ?? target
            return try await body(branch.host, branch.name, madeAt)
        }
    }

    /// A branch Neon made and that is ready, with the lock `leftovers` respects while it exists.
    struct MadeBranch: Sendable {
        var id: String
        var name: String
        /// The branch's `parent_timestamp` as Neon answered it.
        var parentTimestamp: String?
        /// Its endpoint's host.
        var host: String
        var lock: ScratchLock
    }

    /// Creates a branch with one endpoint and waits until it is ready; on any failure nothing is
    /// left (the branch is deleted, or looked for by name when Neon's answer never came). The lock
    /// is taken before the branch is asked for.
    func makeBranch(named name: String, parent: String, at moment: Date?, endpointType: String, what: String) async throws -> MadeBranch {
        let lock = try ScratchLock(name)
        let created: NeonAPI.CreatedBranch
        do {
            created = try await api.createBranch(name: name, parent: parent, at: moment, endpointType: endpointType)
        } catch {
            // Interrupted or unanswered after Neon may have made it: find it by its name (again a
            // little later: Neon may make it after the answer was given up on). A refusal (4xx)
            // made nothing.
            if case NeonError.http(_, let status, _) = error, (400..<500).contains(status), status != 408, status != 429 { throw error }
            var found = false
            for pause in Task.isCancelled ? [Duration.zero] : [.zero, .seconds(5), .seconds(15)] where !found {
                // The run may be cancelled: the look still happens, at once.
                if pause > .zero { try? await Task.sleep(for: pause) }
                switch await api.deleteBranch(named: name) {
                case .deleted: found = true
                case .notFound: break
                case .failed(let problem):
                    RunContext.logger.error("Neon branch may be left behind", metadata: ["branch": .string(name), "reason": .string(problem)])
                }
            }
            if found {
                lock.remove()
            } else {
                RunContext.logger.warning("Neon branch may be left behind",
                                          metadata: ["branch": .string(name), "hint": .string("gwi-fleet leftovers lists it if Neon made it")])
            }
            if Task.isCancelled { throw CancellationError() }
            if found { throw error }
            throw NeonError.createUnanswered(name: name, cause: "\(error)")
        }
        do {
            guard let endpoint = created.endpoints?.first, !endpoint.host.isEmpty else {
                throw NeonError.unexpectedAnswer(step: "create branch \(name)", detail: "no endpoint in the answer")
            }
            let deadline = ContinuousClock.now + readyTimeout
            try await api.waitUntilFinished(created.operations ?? [], what: what, until: deadline)
            try await api.waitUntilStarted(endpoint, what: what, until: deadline)
            return MadeBranch(id: created.branch.id, name: name, parentTimestamp: created.branch.parentTimestamp, host: endpoint.host, lock: lock)
        } catch {
            _ = await delete(MadeBranch(id: created.branch.id, name: name, host: "", lock: lock))
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
    }

    /// Deletes a branch this run made (its lock file goes with it); why not, for the report.
    func delete(_ branch: MadeBranch) async -> String? {
        guard let problem = await api.deleteBranch(branch.id, name: branch.name) else {
            branch.lock.remove()
            return nil
        }
        RunContext.logger.error("Neon branch left behind", metadata: ["branch": .string(branch.name), "reason": .string(problem)])
        return NeonError.branchLeftBehind(name: branch.name, id: branch.id, project: api.settings.projectID, reason: problem).description
    }

    /// Makes a branch, runs `body` with it, and deletes the branch whatever happens. A branch that
    /// could not be deleted after `body` succeeded does not undo its work: it is said
    /// (`leftBehind`), for the report.
    func withBranch<T: Sendable>(named name: String, parent: String, at moment: Date?, endpointType: String, what: String,
                                 _ body: (MadeBranch) async throws -> T) async throws -> (T, leftBehind: String?) {
        let branch = try await makeBranch(named: name, parent: parent, at: moment, endpointType: endpointType, what: what)
        let value: T
        do {
            value = try await body(branch)
        } catch {
            _ = await delete(branch)
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
        return (value, await delete(branch))
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

import FleetModel
import Foundation
import Synchronization

/// `verify.scratch.neon`: restore tests off the production compute. One branch per verify run
/// and Neon project (`gwi-fleet-verify-<run id>`, at the head of the venues' branch, with a
/// read-write endpoint of its own), made when the first venue needs it; every venue's scratch
/// database goes there; `finish` deletes the branches at the end of the run, whatever happened.
public actor VerifyScratchBranches {
    struct Branch: Sendable {
        var recovery: NeonRecovery
        var made: NeonRecovery.MadeBranch
        var host: String { made.host }
    }

    private var branches: [String: Task<Branch, Error>] = [:]
    private let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The host of the run's branch for `settings`, made on first use. A branch that could not be
    /// made fails every venue that needs it with the same error (it is not tried again per venue).
    func host(for settings: NeonSettings, runID: String) async throws -> String {
        let key = settings.apiURL + "\u{0}" + settings.projectID + "\u{0}" + (settings.branch ?? "")
        if let making = branches[key] { return try await Self.value(of: making).host }
        let environment = self.environment
        let name = NeonRecovery.verifyBranchName(runID: runID, index: branches.count + 1, at: WallClock.now())
        // A task of its own: a venue cancelled meanwhile does not leave a half-made branch.
        let making = Task<Branch, Error> {
            let recovery = try NeonRecovery(settings, environment: environment)
            let parent = try await recovery.api.parentBranch()
            let made = try await recovery.makeBranch(named: name, parent: parent.id, at: nil, endpointType: "read_write",
                                                     what: "scratch branch \(name)")
            return Branch(recovery: recovery, made: made)
        }
        branches[key] = making
        return try await Self.value(of: making).host
    }

    /// The branch once made; a venue cancelled meanwhile (Ctrl-C, its deadline) stops waiting at
    /// once and leaves the making to the others (`finish` ends it).
    static func value(of making: Task<Branch, Error>) async throws -> Branch {
        let waiting = Waiting()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiting.continuation.withLock { $0 = continuation }
                Task {
                    let result = await making.result
                    waiting.resume(with: result)
                }
                if Task.isCancelled { waiting.resume(with: .failure(CancellationError())) }
            }
        } onCancel: {
            waiting.resume(with: .failure(CancellationError()))
        }
    }

    /// One waiter's continuation, resumed once: by the branch or by the waiter's cancellation.
    final class Waiting: Sendable {
        let continuation = Mutex<CheckedContinuation<Branch, Error>?>(nil)

        func resume(with result: Result<Branch, Error>) {
            continuation.withLock { $0?.resume(with: result); $0 = nil }
        }
    }

    /// Deletes every branch this run made; the problems (a branch left behind), for the report.
    /// A branch still being made is given up (every venue is done by now): it is deleted as soon
    /// as Neon answers, not after waiting for its compute to start.
    public func finish() async -> [String] {
        var problems: [String] = []
        for making in branches.values { making.cancel() }
        for making in branches.values {
            guard let branch = try? await making.value else { continue }
            if let problem = await branch.recovery.delete(branch.made) { problems.append(problem) }
        }
        branches = [:]
        return problems
    }
}

import FleetModel
import Foundation

/// Branches a killed gwi-fleet left in the fleet's Neon projects (`gwi-fleet-pitr-…` of a
/// point-in-time restore, `gwi-fleet-verify-…` of a verify run): found by their name, aged by
/// Neon's `created_at`, deleted only when `leftovers --drop` asks.
struct NeonLeftovers: Sendable {
    var fleet: Fleet
    var environment: [String: String]

    /// `server` as leftovers shows it: `neon project round-forest-123456`.
    static func server(_ settings: NeonSettings) -> String { "neon project \(settings.projectID)" }

    /// Every Neon project the fleet names (`pitr.neon`, `verify.scratch.neon`), once.
    var projects: [NeonSettings] {
        var seen: [NeonSettings] = []
        for venue in fleet.venues {
            var named: [NeonSettings] = []
            if case .neon(let settings)? = venue.pitr { named.append(settings) }
            if let scratch = venue.scratchNeon { named.append(scratch) }
            for settings in named where !seen.contains(where: { $0.apiURL == settings.apiURL && $0.projectID == settings.projectID }) {
                seen.append(settings)
            }
        }
        return seen
    }

    /// The venues whose point-in-time restores make branches in this project.
    func slugs(of settings: NeonSettings) -> Set<String> {
        Set(fleet.venues.compactMap { venue in
            guard case .neon(let own)? = venue.pitr, own.apiURL == settings.apiURL, own.projectID == settings.projectID else { return nil }
            return venue.slug
        })
    }

    /// Some venue runs its restore tests on branches of this project (`verify.scratch.neon`).
    func verifiesIn(_ settings: NeonSettings) -> Bool {
        fleet.venues.contains { $0.scratchNeon.map { $0.apiURL == settings.apiURL && $0.projectID == settings.projectID } ?? false }
    }

    /// A branch this fleet's runs make in this project.
    func isOurs(_ name: String, in settings: NeonSettings) -> Bool {
        NeonRecovery.isOurs(name, slugs: slugs(of: settings)) && (!name.hasPrefix("gwi-fleet-verify-") || verifiesIn(settings))
    }

    /// Our branches of each project, with their age; projects that could not be read.
    func found(now: Date = WallClock.now()) async -> (branches: [(server: String, name: String, ageSeconds: Int?)], unreadable: [(String, String)]) {
        var branches: [(String, String, Int?)] = []
        var unreadable: [(String, String)] = []
        for settings in projects {
            do {
                for branch in try await NeonAPI(settings, environment: environment).branches() where isOurs(branch.name, in: settings) {
                    branches.append((Self.server(settings), branch.name, branch.created.map { Int(now.timeIntervalSince($0)) }))
                }
            } catch {
                unreadable.append((Self.server(settings), "\(error)"))
            }
        }
        return (branches, unreadable)
    }

    /// Deletes our branch `name` of the project `server` names; why not, or nil.
    func remove(_ name: String, server: String) async -> String? {
        guard let settings = projects.first(where: { Self.server($0) == server }) else { return "no venue names \(server) now" }
        guard isOurs(name, in: settings) else { return "not a branch this fleet makes" }
        // A run on this host still using it holds its lock.
        let lock: ScratchLock
        do { lock = try ScratchLock(name) } catch FleetEngineError.locked {
            return "in use: a run on this host still uses it; not deleted"
        } catch {
            return "\(error)"
        }
        defer { withExtendedLifetime(lock) {} }
        do {
            let api = try NeonAPI(settings, environment: environment)
            guard let branch = try await api.branches().first(where: { $0.name == name }) else { return nil }
            let problem = await api.deleteBranch(branch.id, name: name)
            if problem == nil { lock.remove() }
            return problem
        } catch {
            return "\(error)"
        }
    }
}

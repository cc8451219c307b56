import FleetModel
import Foundation

/// Scratch clusters of point-in-time recoveries that a killed gwi-fleet left behind
/// (`gwi-fleet-pitr-<label>-<YYYYMMDDTHHMMSSZ>-<4 hex>` in a venue's `pitr.pgbackrest.scratch_dir`,
/// or `$TMPDIR`): found by their name alone, removed (their postmaster stopped first: after a
/// SIGKILL of gwi-fleet it keeps running) only when `leftovers --drop` asks.
struct ScratchLeftovers: Sendable {
    var fleet: Fleet

    /// Every directory that holds scratch clusters of this fleet's venues.
    var parents: [String] {
        var seen: [String] = []
        for venue in fleet.venues {
            guard case .pgbackrest(let settings)? = venue.pitr else { continue }
            let parent = PgBackRestSetup(settings).scratchParent
            if !seen.contains(parent) { seen.append(parent) }
        }
        return seen
    }

    /// `(path, age in seconds)` of every scratch cluster of this fleet's venues found: one whose
    /// label names no venue of this fleet (another fleet's, sharing `$TMPDIR`) is not ours to list.
    func found(now: Date = Date()) -> [(path: String, ageSeconds: Int?)] {
        parents.flatMap { parent in
            ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).sorted().compactMap { name -> (String, Int?)? in
                guard let made = Self.madeAt(name), !venues(named: name).isEmpty else { return nil }
                return (parent + "/" + name, Int(now.timeIntervalSince(made)))
            }
        }
    }

    /// The venues a scratch directory's label can stand for (a long slug is cut to 40 characters,
    /// so more than one may).
    func venues(named name: String) -> [Venue] {
        let label = name.dropFirst("gwi-fleet-pitr-".count).split(separator: "-", omittingEmptySubsequences: false).dropLast(2).joined(separator: "-")
        return fleet.venues.filter { venue in
            guard case .pgbackrest? = venue.pitr else { return false }
            return ScratchCluster.nameLabel(venue.slug) == label || ScratchCluster.nameLabel(venue.database) == label
        }
    }

    /// The time in a scratch directory's name; nil for any other name.
    static func madeAt(_ name: String) -> Date? {
        guard let match = name.wholeMatch(of: /gwi-fleet-pitr-[A-Za-z0-9_-]+-(\d{8}T\d{6}Z)-[0-9a-f]{4}/) else { return nil }
        return Timestamp.parseCompact(String(match.1))
    }

    /// Stops the scratch cluster of `path` if it runs, and removes the directory; why not, or nil.
    func remove(_ path: String) async -> String? {
        let name = URL(fileURLWithPath: path).lastPathComponent
        guard Self.madeAt(name) != nil else { return "not a scratch cluster's name" }
        // A recovery still running holds its venue's lock: never pull its cluster from under it.
        let owners = venues(named: name)
        guard !owners.isEmpty else { return "no venue of this fleet made it; not removed" }
        var locks: [VenueLock] = []
        for venue in owners {
            guard let directory = try? BackupCatalog.prepareDirectory(of: venue) else { continue }
            do { locks.append(try await VenueLock.acquire(directory: directory)) } catch {
                return "in use: a run holds \(venue.slug)'s lock (a restore --at may be recovering); not removed"
            }
        }
        defer { withExtendedLifetime(locks) {} }
        // The recovering run's own lock, whichever fleet or user it is.
        let own: ScratchLock
        do { own = try ScratchLock(name) } catch FleetEngineError.locked {
            return "in use: a run on this host is recovering into it; not removed"
        } catch {
            return "\(error)"
        }
        defer { withExtendedLifetime(own) {} }
        let major = (try? String(contentsOfFile: path + "/PG_VERSION", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let owner: ClusterOwner
        do { owner = try ClusterOwner.resolve(nil) } catch { return "\(error)" }
        let cluster = ScratchCluster(directory: path, port: 0, binDirectory: "/usr/lib/postgresql/\(major ?? "0")/bin", owner: owner)
        let problem = await cluster.tearDown()
        if problem == nil { own.remove() }
        return problem
    }
}

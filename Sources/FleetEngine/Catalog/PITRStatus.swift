import FleetModel
import Foundation

/// A venue's point-in-time recovery window as `status` shows it: from the provider (pgBackRest's
/// backups) and the server (`pg_stat_archiver`).
public struct PITRStatus: Sendable, Equatable, Codable {
    public var provider: String
    /// The first and last moments a `restore --at` can reach now.
    public var earliest: Date?
    public var latest: Date?
    public var archiveLagSeconds: Double?
    public var lastArchiveFailure: Date?
    /// When the window was read (the server's clock: `latest` + `archiveLagSeconds`).
    public var checkedAt: Date?
    /// Why the window could not be read.
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case provider, earliest, latest, archiveLagSeconds = "archive_lag_seconds", lastArchiveFailure = "last_archive_failure"
        case checkedAt = "checked_at", error
    }

    public init(provider: String, earliest: Date? = nil, latest: Date? = nil, archiveLagSeconds: Double? = nil,
                lastArchiveFailure: Date? = nil, checkedAt: Date? = nil, error: String? = nil) {
        self.provider = provider
        self.earliest = earliest
        self.latest = latest
        self.archiveLagSeconds = archiveLagSeconds
        self.lastArchiveFailure = lastArchiveFailure
        self.checkedAt = checkedAt
        self.error = error
    }

    /// The newest moment a point-in-time restore could reach when the window was read: its
    /// `latest`, when the window was read and has a base backup before it; nil when PITR did not
    /// hold (what `compliance` then counts on is the backups).
    public var recoverableTo: Date? {
        guard error == nil, let earliest, let latest, earliest <= latest else { return nil }
        return latest
    }

    /// Reads the window of each `pitr:` venue, once per stanza and server (pgBackRest) or project
    /// and branch (Neon: its history retention; no archive to lag); nil for a venue without `pitr:`.
    public static func read(_ venues: [Venue], connector: VenueConnector = VenueConnector()) async -> [String: PITRStatus] {
        var result: [String: PITRStatus] = [:]
        var byServer: [String: PITRStatus] = [:]
        for venue in venues {
            switch venue.pitr {
            case .pgbackrest(let settings)?:
                guard let info = try? connector.connectionInfo(for: venue, .direct) else {
                    result[venue.slug] = PITRStatus(provider: "pgbackrest", checkedAt: WallClock.now(), error: "the venue's URL is not usable")
                    continue
                }
                let key = settings.stanza + "\u{0}" + (settings.config ?? "") + "\u{0}" + FleetPreflight.serverKey(info)
                if let known = byServer[key] { result[venue.slug] = known; continue }
                var status = PITRStatus(provider: "pgbackrest")
                do {
                    let recovery = PgBackRestRecovery(settings: PgBackRestSetup(settings), source: info, now: { WallClock.now() })
                    let window = try await withDeadline(min(venue.timeout, .seconds(120))) { try await recovery.window() }
                    (status.earliest, status.latest, status.archiveLagSeconds) = (window.earliest, window.latest, window.archiveLagSeconds)
                    (status.lastArchiveFailure, status.checkedAt) = (window.archiver.lastFailedAt, window.archiver.checkedAt)
                } catch {
                    status.checkedAt = WallClock.now()
                    status.error = SecretRedactor(venue: venue).redact(VenueError(error).description)
                }
                byServer[key] = status
                result[venue.slug] = status
            case .neon(let settings)?:
                let key = "neon\u{0}" + settings.apiURL + "\u{0}" + settings.projectID + "\u{0}" + (settings.branch ?? "")
                if let known = byServer[key] { result[venue.slug] = known; continue }
                var status = PITRStatus(provider: "neon", checkedAt: WallClock.now())
                do {
                    let neon = try NeonRecovery(settings, environment: connector.environment)
                    let window = try await withDeadline(min(venue.timeout, .seconds(120))) { try await neon.window() }
                    (status.earliest, status.latest, status.archiveLagSeconds, status.checkedAt) = (window.earliest, window.latest, 0, window.latest)
                } catch {
                    status.error = SecretRedactor(venue: venue).redact(VenueError(error).description)
                }
                byServer[key] = status
                result[venue.slug] = status
            case nil:
                continue
            }
        }
        return result
    }
}

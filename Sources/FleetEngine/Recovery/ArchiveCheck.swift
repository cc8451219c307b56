import FleetModel
import Foundation

/// `check`'s look at point-in-time recovery: `pgbackrest check` once per stanza the selected
/// venues name (not once per venue: many venues share a server), then each venue's recovery
/// window (`PITRStatus.read`, once per stanza and server), which the report keeps for the metrics
/// and `compliance`. A stanza whose check fails is a problem of the run, naming its venues; a
/// window that cannot be read is said in the window (as `status` shows it), not a problem.
public struct ArchiveCheck: Sendable {
    /// One stanza checked.
    public struct Stanza: Sendable, Equatable, Codable {
        public var stanza: String
        public var config: String?
        public var venues: [String]
        public var ok: Bool
        public var error: String?
    }

    public var venues: [Venue]

    public init(venues: [Venue]) {
        self.venues = venues
    }

    public func conclusion() async -> FleetRun.Conclusion {
        let checked = venues.filter { $0.enabled && $0.skipReason == nil && $0.pitr != nil }
        guard !checked.isEmpty else { return FleetRun.Conclusion() }
        var conclusion = await stanzaChecks(checked)
        // After the checks: `pgbackrest check` switches the WAL, so the window read now is current.
        conclusion.totals.pitr = await PITRStatus.read(checked)
        return conclusion
    }

    func stanzaChecks(_ venues: [Venue]) async -> FleetRun.Conclusion {
        var groups: [(settings: PgBackRestSettings, venues: [Venue])] = []
        for venue in venues {
            guard case .pgbackrest(let settings)? = venue.pitr else { continue }
            if let index = groups.firstIndex(where: { $0.settings.stanza == settings.stanza && $0.settings.config == settings.config }) {
                groups[index].venues.append(venue)
            } else {
                groups.append((settings, [venue]))
            }
        }
        guard !groups.isEmpty else { return FleetRun.Conclusion() }
        var checked: [Stanza] = [], problems: [String] = []
        for (settings, members) in groups {
            var stanza = Stanza(stanza: settings.stanza, config: settings.config, venues: members.map(\.slug), ok: true)
            do {
                // The source is not read for a check: the venue's connection info only names the server.
                let recovery = PgBackRestRecovery(settings: PgBackRestSetup(settings),
                                                  source: try VenueConnector().connectionInfo(for: members[0], .direct))
                try await withDeadline(min(members[0].timeout, .seconds(300))) { try await recovery.check() }
            } catch {
                stanza.ok = false
                stanza.error = SecretRedactor(venues: members).redact(VenueError(error).description)
                problems.append("pgbackrest check of stanza \(settings.stanza) failed (venues \(stanza.venues.joined(separator: ", "))): \(stanza.error ?? "?")")
            }
            checked.append(stanza)
        }
        return FleetRun.Conclusion(totals: FleetTotals(archives: checked), problems: problems)
    }
}

import FleetModel
import Foundation
import PostgresClient

/// Per server of the fleet: the databases that should belong to a venue but do not (`uncovered`,
/// never backed up by anyone), and what gwi-fleet itself left behind (`leftovers`: the old copy
/// of a safe replace, an interrupted restore, a verify scratch database).
public struct Coverage: Sendable {
    /// One database found on a server.
    public struct Database: Sendable, Equatable, Codable {
        public var name: String
        public var bytes: Int?
        /// For leftovers: `replaced`, `restoring` or `verify`; its age when the name carries a time.
        public var kind: String?
        public var ageSeconds: Int?
        public var ignored = false
        /// For a restored copy (`kind` `restored-copy`): the venue it is a copy of.
        public var venue: String?

        enum CodingKeys: String, CodingKey { case name = "database", bytes, kind, ageSeconds = "age_seconds", ignored, venue }

        public init(name: String, bytes: Int? = nil, kind: String? = nil, ageSeconds: Int? = nil, ignored: Bool = false, venue: String? = nil) {
            self.name = name
            self.bytes = bytes
            self.kind = kind
            self.ageSeconds = ageSeconds
            self.ignored = ignored
            self.venue = venue
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(name: try container.decode(String.self, forKey: .name), bytes: try container.decodeIfPresent(Int.self, forKey: .bytes),
                      kind: try container.decodeIfPresent(String.self, forKey: .kind),
                      ageSeconds: try container.decodeIfPresent(Int.self, forKey: .ageSeconds),
                      ignored: try container.decodeIfPresent(Bool.self, forKey: .ignored) ?? false,
                      venue: try container.decodeIfPresent(String.self, forKey: .venue))
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(bytes, forKey: .bytes)
            if let kind {
                try container.encode(kind, forKey: .kind)
                try container.encode(ageSeconds, forKey: .ageSeconds)
            }
            if ignored { try container.encode(true, forKey: .ignored) }
            if let venue { try container.encode(venue, forKey: .venue) }
        }
    }

    /// What one server holds.
    public struct Server: Sendable, Equatable, Codable {
        public var server: String
        public var uncovered: [Database] = []
        public var leftovers: [Database] = []
        /// Copies made by `restore --as` (recorded in their venue's directory), kept on purpose for a while.
        public var restoredCopies: [Database] = []
        public var error: String?

        public init(server: String, uncovered: [Database] = [], leftovers: [Database] = [], restoredCopies: [Database] = [], error: String? = nil) {
            self.server = server
            self.uncovered = uncovered
            self.leftovers = leftovers
            self.restoredCopies = restoredCopies
            self.error = error
        }

        enum CodingKeys: String, CodingKey { case server, uncovered, leftovers, restoredCopies = "restored_copies", error }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(server: try container.decode(String.self, forKey: .server),
                      uncovered: try container.decodeIfPresent([Database].self, forKey: .uncovered) ?? [],
                      leftovers: try container.decodeIfPresent([Database].self, forKey: .leftovers) ?? [],
                      restoredCopies: try container.decodeIfPresent([Database].self, forKey: .restoredCopies) ?? [],
                      error: try container.decodeIfPresent(String.self, forKey: .error))
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(server, forKey: .server)
            try container.encode(uncovered, forKey: .uncovered)
            try container.encode(leftovers, forKey: .leftovers)
            if !restoredCopies.isEmpty { try container.encode(restoredCopies, forKey: .restoredCopies) }
            try container.encode(error, forKey: .error)
        }
    }

    /// PostgreSQL's own databases: never a restored copy or a leftover, whatever a record says.
    public static func isSystemDatabase(_ name: String) -> Bool {
        ["postgres", "template0", "template1"].contains(name)
    }

    public var fleet: Fleet
    public var connector: VenueConnector
    public var now: @Sendable () -> Date

    public init(fleet: Fleet, connector: VenueConnector = VenueConnector(), now: @escaping @Sendable () -> Date = { WallClock.now() }) {
        self.fleet = fleet
        self.connector = connector
        self.now = now
    }

    /// A leftover's kind and the time in its name: `…__replaced_20261126T101500Z`, `…__restoring_…`,
    /// `gwi_verify_<slug>_<YYYYMMDDHHMMSS>_<hex>`. Nil for any other name: never a leftover.
    public static func leftover(_ name: String) -> (kind: String, date: Date?)? {
        for kind in ["replaced", "restoring"] {
            if let range = name.range(of: "__\(kind)_", options: .backwards) {
                let stamp = String(name[range.upperBound...])
                guard stamp.range(of: #"^[0-9]{8}T[0-9]{6}Z$"#, options: .regularExpression) != nil else { continue }
                return (kind, Timestamp.parseCompact(stamp))
            }
        }
        if name.hasPrefix("gwi_verify_") {
            let stamp = name.split(separator: "_").dropLast().last.map(String.init) ?? ""
            return ("verify", stamp.count == 14 ? Timestamp.parseCompact(String(stamp.prefix(8)) + "T" + String(stamp.suffix(6)) + "Z") : nil)
        }
        return nil
    }

    /// Every server that the fleet's venues (all of them, selected or not) live on.
    func servers() -> [(key: String, candidates: [Venue])] {
        var order: [String] = []
        var byServer: [String: [Venue]] = [:]
        for venue in fleet.venues {
            guard let info = try? connector.connectionInfo(for: venue, .direct) else { continue }
            let key = FleetPreflight.serverKey(info)
            if byServer[key] == nil { order.append(key) }
            byServer[key, default: []].append(venue)
        }
        return order.map { ($0, byServer[$0] ?? []) }
    }

    /// Reads every server once. A server that no venue can reach is reported with the error.
    public func check() async -> [Server] {
        var result: [Server] = []
        for (key, candidates) in servers() {
            // A server's name comes from libpq's reading of a venue's URL, which a mistyped URL
            // can make hold a piece of a password: the venues' secrets come out of it and its errors.
            let redactor = SecretRedactor(venues: candidates)
            var server = Server(server: redactor.redact(key))
            let listed: [(String, Int?)]
            do {
                listed = try await list(server: candidates)
            } catch {
                server.error = redactor.redact("\(error)")
                result.append(server)
                continue
            }
            let owned = Set(candidates.map(\.database))
            let now = self.now()
            let copies = CreatedDatabases.restoredCopies(of: candidates)
            for (name, bytes) in listed where !owned.contains(name) {
                if let copy = copies[name] {
                    server.restoredCopies.append(Database(name: name, bytes: bytes, kind: "restored-copy", ageSeconds: Int(now.timeIntervalSince(copy.createdAt)),
                                                          ignored: LikePattern.any(fleet.ignore, match: name), venue: copy.venue))
                } else if let (kind, date) = Self.leftover(name) {
                    server.leftovers.append(Database(name: name, bytes: bytes, kind: kind,
                                                     ageSeconds: date.map { Int(now.timeIntervalSince($0)) }))
                } else if LikePattern.any(fleet.coveragePatterns, match: name) {
                    server.uncovered.append(Database(name: name, bytes: bytes, ignored: LikePattern.any(fleet.ignore, match: name)))
                }
            }
            result.append(server)
        }
        return result
    }

    /// Every database of one server, through the first of its venues whose database answers.
    /// One deadline for the whole server, the venues' own (the run's `--timeout`, a minute at
    /// most), whatever the number of tries; a server that does not answer at all is not tried
    /// again through another of its databases, and no connection is retried.
    func list(server candidates: [Venue]) async throws -> [(String, Int?)] {
        let limit = min(candidates.map(\.timeout).min() ?? .seconds(60), .seconds(60))
        var once = connector
        once.attempts = 1
        let connector = once
        return try await withDeadline(limit) {
            var lastError: any Error = FleetEngineError.refused("no venue to connect through")
            // Any database on the server lists all of them; try the venues until one answers.
            for venue in candidates.prefix(3) {
                do {
                    let connection = try await connector.connect(venue, .direct, step: "connect to list databases")
                    let rows = try await connection.query("""
                        SELECT datname, CASE WHEN has_database_privilege(datname, 'CONNECT') THEN pg_database_size(oid) END
                        FROM pg_database WHERE NOT datistemplate ORDER BY datname
                        """)
                    return rows.rows.compactMap { row in row[0].map { ($0, row[1].flatMap { Int($0) }) } }
                } catch FleetEngineError.connection(let step, .connectionFailed(let message)) where message.hasPrefix("timeout expired") {
                    // No answer from the server: its other databases would not answer either.
                    throw FleetEngineError.connection(step: step, .connectionFailed(message))
                } catch {
                    lastError = error
                }
            }
            throw lastError
        }
    }

    /// For a run's report: the coverage figures, and a problem per uncovered database not ignored.
    public func conclusion() async -> FleetRun.Conclusion {
        let servers = await check()
        var problems: [String] = []
        for server in servers {
            for database in server.uncovered where !database.ignored {
                problems.append("uncovered database \(database.name) on \(server.server)"
                    + (database.bytes.map { " (\(ByteCount.human($0)))" } ?? "") + ": no venue backs it up (add it to the fleet, or to `ignore:`)")
            }
            let limit = Int(fleet.policy.maxRestoredCopyAge.components.seconds)
            for copy in server.restoredCopies where !copy.ignored && (copy.ageSeconds ?? 0) > limit {
                problems.append("restored copy \(copy.name) of venue `\(copy.venue ?? "?")` on \(server.server) is \(FleetDuration.format(.seconds((copy.ageSeconds ?? 0) / 3600 * 3600))) old "
                    + "(policy.max_restored_copy_age \(FleetDuration.format(fleet.policy.maxRestoredCopyAge))): drop it with `gwi-fleet leftovers --drop --yes`, or keep it by adding it to `ignore:`")
            }
            if let error = server.error { problems.append("coverage of \(server.server) not checked: \(error)") }
        }
        return FleetRun.Conclusion(totals: FleetTotals(coverage: servers), problems: problems)
    }
}

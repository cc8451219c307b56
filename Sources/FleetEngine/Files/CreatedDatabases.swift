import FleetModel
import Foundation

/// The databases gwi-fleet itself created beside a venue's own (a restore's staging and
/// `__replaced_` copies, verify's scratch databases), recorded in the venue's backup directory
/// (`.created-databases.json`) before each is made. `leftovers --drop` drops only what is in
/// such a record: a name shaped like one of ours is not proof that we made it.
/// Written under the venue lock that restore and verify hold, durably (temporary name, rename).
public struct CreatedDatabases: Sendable {
    /// One database made by gwi-fleet.
    public struct Record: Sendable, Codable, Equatable {
        public var database: String
        public var by: String
        public var createdAt: Date
        enum CodingKeys: String, CodingKey { case database, by, createdAt = "created_at" }
    }

    struct File: Codable { var databases: [Record] }

    public let path: String

    /// What a `restore --as` copy is recorded as made by: a database kept on purpose for a while,
    /// listed apart from uncovered databases and dropped by `leftovers --drop` once old.
    public static let restoredCopy = "restore --as"

    public init(venue: Venue) {
        path = BackupCatalog.directory(of: venue) + "/.created-databases.json"
    }

    public func records() -> [Record] {
        guard let data = FileManager.default.contents(atPath: path),
              let file = try? JSONCoding.decoder.decode(File.self, from: data) else { return [] }
        return file.databases
    }

    /// Records `database` as made by `by` (before it is made: a record of a name that never came
    /// to be is harmless, a database made without one would be kept forever).
    public func add(_ database: String, by: String) throws {
        var databases = records().filter { $0.database != database }
        databases.append(Record(database: database, by: by, createdAt: WallClock.now()))
        try save(databases)
    }

    /// Forgets `database` once it is gone again or has become the venue's own (a swap).
    public func remove(_ database: String) {
        let databases = records()
        guard databases.contains(where: { $0.database == database }) else { return }
        try? save(databases.filter { $0.database != database })
    }

    func save(_ databases: [Record]) throws {
        try DurableFile.write(Data(JSONCoding.text(File(databases: databases)).utf8), to: path)
    }

    /// Every name recorded for any of `venues`, and only names of that venue's own shapes: a
    /// record in one venue's directory never vouches for a database beside another venue's.
    public static func names(of venues: [Venue]) -> Set<String> {
        var names: Set<String> = []
        for venue in venues {
            names.formUnion(CreatedDatabases(venue: venue).records().filter { $0.by == restoredCopy || belongs($0.database, to: venue) }.map(\.database))
        }
        return names
    }

    /// The `restore --as` copies recorded for `venues`: name → (venue, when it was made).
    public static func restoredCopies(of venues: [Venue]) -> [String: (venue: String, createdAt: Date)] {
        var copies: [String: (venue: String, createdAt: Date)] = [:]
        for venue in venues {
            for record in CreatedDatabases(venue: venue).records() where record.by == restoredCopy && !Coverage.isSystemDatabase(record.database) {
                copies[record.database] = (venue.slug, record.createdAt)
            }
        }
        return copies
    }

    /// A name restore or verify makes for this venue: `<its database, cut>__restoring_<time>`,
    /// `…__replaced_<time>`, or its `gwi_verify_<slug>_…` scratch database.
    static func belongs(_ name: String, to venue: Venue) -> Bool {
        if VerifyOperation.isScratch(name, of: venue.slug) { return true }
        for marker in ["__restoring_", "__replaced_"] {
            guard let range = name.range(of: marker, options: .backwards) else { continue }
            let stem = name[..<range.lowerBound]
            guard name[range.upperBound...].wholeMatch(of: /[0-9]{8}T[0-9]{6}Z/) != nil, !stem.isEmpty else { continue }
            // The whole database name, or its start cut so that the name fits in 63 bytes.
            if stem == venue.database || (venue.database.hasPrefix(stem) && name.utf8.count >= 60) { return true }
        }
        return false
    }
}

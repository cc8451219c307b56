import FleetModel
import Foundation
import Testing

@Suite struct ShardTests {
    let slugs = (1...5000).map { "venue-\($0)-\(["bar", "grill", "cafe", "pub"][$0 % 4])" }

    @Test func shardsParseAndRefuseWhatCannotBe() throws {
        #expect(try Shard.parse("2/4") == Shard(index: 2, count: 4))
        for bad in ["4/4", "-1/4", "1/0", "1", "a/b", "1/4/2", ""] {
            #expect(throws: ShardError.self, "\(bad)") { try Shard.parse(bad) }
        }
    }

    @Test func aFiveThousandVenueFleetSplitsEvenlyAndCompletely() {
        let assignment = slugs.map { Shard.assign($0, count: 4) }
        for index in 0..<4 {
            let size = assignment.filter { $0 == index }.count
            #expect(abs(size - 1250) < 100, "shard \(index) has \(size)")
        }
        // Each venue in exactly one shard, and the shards' own test agrees.
        let shards = try! (0..<4).map { try Shard(index: $0, count: 4) }
        for slug in slugs.prefix(500) { #expect(shards.filter { $0.contains(slug) }.count == 1) }
    }

    @Test func addingAVenueMovesNoOtherAndAFifthShardMovesAboutAFifth() {
        let before = slugs.map { Shard.assign($0, count: 4) }
        let withNew = (slugs + ["new-venue-bar"]).map { Shard.assign($0, count: 4) }
        #expect(Array(withNew.prefix(slugs.count)) == before)
        let five = slugs.map { Shard.assign($0, count: 5) }
        let moved = zip(before, five).filter { $0 != $1 }
        let share = Double(moved.count) / Double(slugs.count)
        #expect(share > 0.17 && share < 0.23, "moved \(share)")
        // Rendezvous hashing: every venue that moved went to the new shard.
        #expect(moved.allSatisfy { $0.1 == 4 })
    }

    @Test func theAssignmentIsTheSameOnEveryMachine() {
        // Fixed values: a change to the hash would silently move venues between existing shards.
        let slugs = ["joes-bar", "airport", "harbor-view", "downtown", "old-mill", "riverside-grill"]
        #expect(slugs.map { Shard.assign($0, count: 4) } == [0, 2, 3, 1, 0, 1])
        #expect(Shard.assign("joes-bar", count: 1) == 0)
    }

    @Test func aFiveThousandVenueFleetFileIsShardedFromTheFile() throws {
        let yaml = "version: 1\ndefaults:\n  url: postgresql://ops@db/{database}\nvenues:\n"
            + slugs.map { "  - slug: \($0)\n" }.joined()
        let fleet = try FleetFile.parse(yaml: yaml, path: "/srv/fleet.yaml", environment: [:])
        #expect(fleet.venues.count == 5000)
        var seen = Set<String>()
        for index in 0..<8 {
            let shard = try Shard(index: index, count: 8)
            for venue in fleet.venues where shard.contains(venue.slug) { #expect(seen.insert(venue.slug).inserted) }
        }
        #expect(seen.count == 5000)
    }
}

import Foundation
import Yams

extension Fleet {
    /// This fleet with the venues discovery found: each entry over `defaults:`, the fleet file's
    /// entry of the same slug on top of it; discovered venues get the tag `discovered`. Listed
    /// venues keep their order; venues found only by discovery follow, in the order found.
    public func adding(discovered: [VenueEntry]) -> (Fleet, [FleetFileProblem]) {
        let listedBySlug = Dictionary(entries.map { ($0.slug, $0) }, uniquingKeysWith: { first, _ in first })
        var merged: [VenueEntry] = entries
        var indexBySlug = Dictionary(entries.enumerated().map { ($1.slug, $0) }, uniquingKeysWith: { first, _ in first })
        var problems: [FleetFileProblem] = []
        for var found in discovered {
            found.tags = (found.tags ?? []) + ["discovered"]
            if let index = indexBySlug[found.slug] {
                if let listed = listedBySlug[found.slug], merged[index] == listed {
                    merged[index] = found.overridden(by: listed)
                    if !(merged[index].tags ?? []).contains("discovered") { merged[index].tags = (merged[index].tags ?? []) + ["discovered"] }
                } else if merged[index] == found {
                    continue  // the same row twice (a join gone wide): one venue, nothing lost
                } else {
                    let databases = [merged[index].database, found.database].map { $0 ?? "the default" }
                    let differ = databases[0] != databases[1] ? " with different databases (\(databases[0]) and \(databases[1]))" : " with different settings"
                    problems.append(FleetFileProblem(venue: found.slug, key: "slug",
                                                     message: "found twice by discovery (\(found.origin))\(differ); neither row is used until one is corrected"))
                }
            } else {
                indexBySlug[found.slug] = merged.count
                merged.append(found)
            }
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var copy = self
        var resolver = Resolver(baseDirectory: base)
        resolver.defaultMaxBackupAge = policy.maxBackupAge
        copy.venues = resolver.venues(merged, defaults: defaults, problems: &problems)
        return (copy, problems)
    }
}

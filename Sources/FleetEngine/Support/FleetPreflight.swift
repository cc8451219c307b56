import FleetModel
import PostgresClient

/// Checks that libpq itself accepts every connection string of the fleet, before any venue is
/// touched: the fleet file can only check their shape, libpq knows every keyword.
public enum FleetPreflight {
    public static func problems(in fleet: Fleet) -> [FleetFileProblem] {
        var problems: [FleetFileProblem] = []
        for venue in fleet.venues {
            let urls = [("url", venue.url), ("direct_url", venue.directURL)] + (venue.scratchURL.map { [("verify.scratch_url", $0)] } ?? [])
            var seen: Set<String> = []
            for (key, url) in urls where seen.insert(url).inserted {
                do {
                    _ = try ConnectionInfo(parsing: url)
                } catch {
                    problems.append(FleetFileProblem(venue: venue.slug, key: key, line: venue.line, message: "\(error)"))
                }
            }
        }
        return problems
    }
}

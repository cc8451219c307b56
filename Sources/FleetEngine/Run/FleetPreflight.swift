import FleetModel
import PostgresClient

/// Checks what only libpq can, before any venue is touched: that it accepts every connection
/// string of the fleet (the fleet file can only check their shape), and that no two venues
/// resolve to the same database on the same server.
public enum FleetPreflight {
    public static func problems(in fleet: Fleet) -> [FleetFileProblem] {
        var problems: [FleetFileProblem] = []
        var owners: [String: Venue] = [:]
        for venue in fleet.venues {
            let urls = [("url", venue.url), ("direct_url", venue.directURL)] + (venue.scratchURL.map { [("verify.scratch_url", $0)] } ?? [])
            var seen: Set<String> = []
            for (key, url) in urls where seen.insert(url).inserted {
                do {
                    let info = try ConnectionInfo(parsing: url)
                    if key == "direct_url" || (key == "url" && venue.directURL == venue.url) {
                        let place = serverKey(info) + "/" + (info.database ?? venue.database)
                        if let other = owners[place] {
                            problems.append(FleetFileProblem(venue: venue.slug, key: "database", line: venue.line,
                                message: "venues `\(other.slug)` and `\(venue.slug)` are both database \(info.database ?? venue.database) on \(serverKey(info))"))
                        } else {
                            owners[place] = venue
                        }
                    }
                } catch {
                    problems.append(FleetFileProblem(venue: venue.slug, key: key, line: venue.line,
                                                     message: "\(error)" + (venue.line == nil ? " (from \(venue.origin))" : "")))
                }
            }
        }
        return problems
    }

    /// `host:port` as libpq would reach it (defaults filled in), for grouping venues by server.
    public static func serverKey(_ info: ConnectionInfo) -> String {
        let host = info["host"] ?? info["hostaddr"] ?? "local socket"
        return "\(host):\(info["port"] ?? "5432")"
    }
}

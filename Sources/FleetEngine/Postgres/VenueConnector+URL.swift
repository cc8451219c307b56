import FleetModel
import Foundation

extension VenueConnector {
    /// The venue's URL with the password in it (from the URL or `password_env`), for a child that
    /// reads DATABASE_URL. It only ever goes into a child's environment.
    func urlWithPassword(for venue: Venue, _ endpoint: VenueEndpoint) throws -> String {
        let url = endpoint == .pooled ? venue.url : venue.directURL
        let info = try connectionInfo(for: venue, endpoint)
        guard let password = info.password else { return url }
        if let scheme = url.range(of: "://") {
            let authorityEnd = url[scheme.upperBound...].firstIndex { $0 == "/" || $0 == "?" } ?? url.endIndex
            let authority = url[scheme.upperBound..<authorityEnd]
            guard let at = authority.lastIndex(of: "@") else { return url }
            let userinfo = authority[..<at]
            if userinfo.contains(":") { return url }
            let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? password
            return String(url[..<at]) + ":" + encoded + String(url[at...])
        }
        if url.range(of: #"(^|\s)password\s*="#, options: .regularExpression) != nil { return url }
        return url + " password='" + password.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}

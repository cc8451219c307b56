import FleetModel
import Foundation
import PostgresClient

/// Takes every known secret of a venue (passwords in its URLs, `password_env`'s value, `sslpassword`)
/// out of text that will be shown: also its percent-encoded form, and its pieces between URL
/// delimiters, which is how a mistyped URL makes libpq quote part of a password as a host name.
struct SecretRedactor: Sendable {
    let secrets: [String]

    init(venue: Venue, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.init(venues: [venue], environment: environment)
    }

    /// Every secret of every one of `venues`.
    init(venues: [Venue], environment: [String: String] = ProcessInfo.processInfo.environment) {
        var found: [String] = []
        for venue in venues {
            for url in [venue.url, venue.directURL] + (venue.scratchURL.map { [$0] } ?? []) {
                if let info = try? ConnectionInfo(parsing: url) { found += info.secretValues }
                if let written = Self.writtenPassword(url) { found.append(written) }
            }
            if let name = venue.passwordEnv, let value = environment[name] { found.append(value) }
        }
        var all = Set<String>()
        for secret in found where secret.count >= 3 {
            all.insert(secret)
            all.insert(ConnectionText.percentEncoded(secret))
            for piece in secret.split(whereSeparator: { "@:/?#&=; ".contains($0) }) where piece.count >= 3 { all.insert(String(piece)) }
        }
        secrets = all.sorted { $0.count > $1.count }
    }

    /// The password as written in a URI, up to the last `@` of its authority: with an unencoded
    /// `@` in it (`postgresql://ops:Leak@Secret@host/db`) libpq reads only `Leak` as the password
    /// and `Secret@host` as the host, which then shows in messages.
    static func writtenPassword(_ url: String) -> String? {
        guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://"), let scheme = url.range(of: "://") else { return nil }
        let rest = url[scheme.upperBound...].prefix { $0 != "?" }
        guard let lastAt = rest.lastIndex(of: "@") else { return nil }
        let userinfo = rest[..<lastAt]
        guard let colon = userinfo.firstIndex(of: ":") else { return nil }
        let password = userinfo[userinfo.index(after: colon)...]
        return password.isEmpty ? nil : String(password)
    }

    func redact(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
    }
}

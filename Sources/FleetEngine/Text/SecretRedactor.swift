import FleetModel
import Foundation
import PostgresClient

/// Takes every known secret of a venue (passwords in its URLs, `password_env`'s value, `sslpassword`)
/// out of text that will be shown: also its percent-encoded form, and its pieces between URL
/// delimiters, which is how a mistyped URL makes libpq quote part of a password as a host name.
struct SecretRedactor: Sendable {
    let secrets: [String]

    init(venue: Venue, environment: [String: String] = ProcessInfo.processInfo.environment) {
        var found: [String] = []
        for url in [venue.url, venue.directURL] + (venue.scratchURL.map { [$0] } ?? []) {
            if let info = try? ConnectionInfo(parsing: url) { found += info.secretValues }
        }
        if let name = venue.passwordEnv, let value = environment[name] { found.append(value) }
        var all = Set<String>()
        for secret in found where secret.count >= 3 {
            all.insert(secret)
            all.insert(ConnectionText.percentEncoded(secret))
            for piece in secret.split(whereSeparator: { "@:/?#&=; ".contains($0) }) where piece.count >= 3 { all.insert(String(piece)) }
        }
        secrets = all.sorted { $0.count > $1.count }
    }

    func redact(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
    }
}

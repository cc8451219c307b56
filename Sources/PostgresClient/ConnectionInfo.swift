import CLibPQ
import Foundation

/// A libpq connection string (URI or `key=value` form) parsed by libpq itself, with the password
/// held apart so it can go to libpq or a child's environment but never into text that is shown.
public struct ConnectionInfo: Sendable, CustomStringConvertible {
    /// One libpq keyword and its value, in the order libpq reports them.
    public struct Option: Sendable, Equatable {
        public var keyword: String
        public var value: String
    }

    /// Every keyword that was set, except the secret ones.
    public private(set) var options: [Option]
    /// The password, from the string itself or set later (`password_env`).
    public var password: String?
    /// Other secret keywords (`sslpassword`): like the password, never in text that is shown or
    /// put in a child's arguments.
    public private(set) var secretOptions: [Option]
    /// Keywords whose values are secrets, besides `password`.
    public static let secretKeywords: Set<String> = ["sslpassword"]

    /// Parses with `PQconninfoParse`, so everything libpq accepts is accepted (sslmode, service, …).
    public init(parsing conninfo: String) throws(PostgresError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(conninfo, &errorMessage) else {
            var message = errorMessage.map { String(cString: $0) } ?? "out of memory"
            if let errorMessage { PQfreemem(errorMessage) }
            // libpq may quote a piece of the password (a bad %-escape, say): take out anything
            // that redaction would hide in the string itself.
            for secret in Self.secrets(in: conninfo) where !secret.isEmpty {
                message = message.replacingOccurrences(of: secret, with: "***")
            }
            throw .invalidConnectionString(
                message.trimmingCharacters(in: .whitespacesAndNewlines) + " in \(Self.redacting(conninfo))")
        }
        defer { PQconninfoFree(parsed) }
        var options: [Option] = []
        var secrets: [Option] = []
        var password: String?
        var cursor = parsed
        while let keyword = cursor.pointee.keyword {
            if let value = cursor.pointee.val {
                let key = String(cString: keyword)
                if key == "password" {
                    password = String(cString: value)
                } else if Self.secretKeywords.contains(key) {
                    secrets.append(Option(keyword: key, value: String(cString: value)))
                } else {
                    options.append(Option(keyword: key, value: String(cString: value)))
                }
            }
            cursor += 1
        }
        self.options = options
        self.secretOptions = secrets
        self.password = password
    }

    /// The value of a keyword, or nil when it was not set.
    public subscript(keyword: String) -> String? {
        get { options.first { $0.keyword == keyword }?.value }
        set {
            options.removeAll { $0.keyword == keyword }
            if let newValue { options.append(Option(keyword: keyword, value: newValue)) }
        }
    }

    /// The database name, as libpq would use it.
    public var database: String? { self["dbname"] }

    /// `key='value'` form without the password: safe for a child's argv (`pg_dump --dbname=`).
    public var passwordlessConninfo: String {
        options.map { "\($0.keyword)=\(Self.quoteValue($0.value))" }.joined(separator: " ")
    }

    /// Host and database for messages: `db.example:5432/gwi_pos_airport`.
    public var endpoint: String {
        let host = self["host"] ?? self["hostaddr"] ?? "local socket"
        let port = self["port"].map { ":\($0)" } ?? ""
        return "\(host)\(port)/\(database ?? "?")"
    }

    public var description: String {
        var shown = passwordlessConninfo
        if password != nil { shown += " password=***" }
        for secret in secretOptions { shown += " \(secret.keyword)=***" }
        return shown
    }

    /// Every secret this connection carries (password, sslpassword), for redaction.
    public var secretValues: [String] { (password.map { [$0] } ?? []) + secretOptions.map(\.value) }

    /// Replaces any password in a URI or `key=value` string with `***`, without parsing it.
    /// Used on text that may not be valid (so it cannot go through libpq) but will be shown.
    public static func redacting(_ text: String) -> String {
        var result = text
        // postgresql://user:secret@host → postgresql://user:***@host
        if let schemeRange = result.range(of: "://") {
            let authorityStart = schemeRange.upperBound
            let authorityEnd = result[authorityStart...].firstIndex { $0 == "/" || $0 == "?" } ?? result.endIndex
            if let at = result[authorityStart..<authorityEnd].lastIndex(of: "@"),
               let colon = result[authorityStart..<at].firstIndex(of: ":") {
                result.replaceSubrange(result.index(after: colon)..<at, with: "***")
            }
        }
        // ?password=secret&… and password=secret / password='a b' in key=value strings
        let pattern = #"((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*)"#
        if let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) {
            let range = NSRange(result.startIndex..., in: result)
            result = regex.stringByReplacingMatches(in: result, range: range, withTemplate: "$1***")
        }
        return result
    }

    /// The password-like parts of a connection string, found as `redacting` finds them.
    static func secrets(in text: String) -> [String] {
        let redacted = Array(redacting(text)), original = Array(text)
        // Walk both strings; where they differ, the original holds a secret that became "***".
        var secrets: [String] = []
        var i = 0, j = 0
        while i < original.count && j < redacted.count {
            if original[i] == redacted[j] { i += 1; j += 1; continue }
            guard redacted[j...].starts(with: "***") else { break }
            j += 3
            let end = j < redacted.count ? (original[i...].firstIndex(of: redacted[j]) ?? original.count) : original.count
            secrets.append(String(original[i..<end]))
            i = end
        }
        return secrets.sorted { $0.count > $1.count }
    }

    private static func quoteValue(_ value: String) -> String {
        let safe = !value.isEmpty && value.allSatisfy { !$0.isWhitespace && $0 != "'" && $0 != "\\" }
        if safe { return value }
        return "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}

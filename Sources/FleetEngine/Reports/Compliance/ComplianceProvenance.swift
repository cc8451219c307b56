import Crypto
import FleetModel
import Foundation
import PostgresClient

extension ComplianceReport.Provenance {
    /// This process: its host, its user, and `arguments` with every secret replaced by `***`
    /// (`redacting`): the page names how it was made, never a password or key.
    public static func current(version: String, arguments: [String] = CommandLine.arguments, venues: [Venue],
                               environment: [String: String] = ProcessInfo.processInfo.environment) -> Self {
        let user = environment["USER"] ?? environment["LOGNAME"] ?? NSUserName()
        return .init(version: version, host: ProcessInfo.processInfo.hostName, user: user,
                     commandLine: redacting(arguments, venues: venues, environment: environment))
    }

    /// Option names whose value is a secret (`--password x`, `--api-key=x`).
    static let secretWords = ["password", "passwd", "passphrase", "secret", "token", "key", "credential"]

    /// Removes from a command line: passwords in connection strings, the venues' secrets, the
    /// values of secret-named options and of secret-named environment variables.
    static func redacting(_ arguments: [String], venues: [Venue], environment: [String: String]) -> [String] {
        let redactor = SecretRedactor(venues: venues, environment: environment)
        let environmentSecrets = environment.filter { name, value in
            value.count >= 4 && secretWords.contains { name.lowercased().contains($0) }
        }.values.sorted { $0.count > $1.count }
        func isSecretOption(_ name: Substring) -> Bool {
            name.hasPrefix("-") && secretWords.contains { name.lowercased().contains($0) }
        }
        var result: [String] = []
        for (index, argument) in arguments.enumerated() {
            if index > 0, isSecretOption(Substring(arguments[index - 1])), !arguments[index - 1].contains("="), !argument.hasPrefix("-") {
                result.append("***")
                continue
            }
            if let equals = argument.firstIndex(of: "="), isSecretOption(argument[..<equals]) {
                result.append(String(argument[...equals]) + "***")
                continue
            }
            var text = redactor.redact(ConnectionInfo.redacting(argument))
            for secret in environmentSecrets { text = text.replacingOccurrences(of: secret, with: "***") }
            result.append(text)
        }
        return result
    }
}

extension ComplianceHTML {
    /// The line that starts the page's footer: the page's SHA-256 covers every byte before it.
    public static let footerMark = "<footer"

    /// The SHA-256 (hex) of a page's bytes before its footer line, as the footer states it;
    /// nil when the page has no footer. `sed '/^<footer/,$d' page.html | sha256sum` computes the same.
    public static func digestBeforeFooter(_ page: String) -> String? {
        guard let range = page.range(of: "\n" + footerMark) else { return nil }
        return Digester.hex(SHA256.hash(data: Data(page[...range.lowerBound].utf8)))
    }
}

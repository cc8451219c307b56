import FleetModel
import Foundation

/// What `exec`'s command gets in its environment, and which texts are taken out of its log.
///
/// The command does not inherit gwi-fleet's environment (the age identity, the S3 keys, the
/// registry's password, Neon's API key live there): it gets the venue's own variables, the few
/// a shell, node or a migration tool needs to run (`passed`), and what the operator names with
/// `--pass-env`. A variable the fleet file names as a secret is never passed.
public struct ExecEnvironment: Sendable {
    /// Passed from gwi-fleet's environment when set (`LC_*`: every locale variable).
    public static let passed = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_*", "TZ", "TERM", "TMPDIR"]

    /// `--pass-env`: names, or prefixes ending in `*`.
    public var passEnv: [String]
    /// The fleet file's secret variables (`password_env`, `identity_env`, `api_key_env`).
    public var secretVariables: Set<String>

    public init(passEnv: [String] = [], secretVariables: Set<String> = []) {
        self.passEnv = passEnv
        self.secretVariables = secretVariables
    }

    /// The command's environment: the venue's variables over what is passed from `parent`.
    func environment(venue: [String: String], parent: [String: String]) -> [String: String] {
        var result = [String: String]()
        for (name, value) in parent where !secretVariables.contains(name) && Self.matches(name, Self.passed + passEnv) {
            result[name] = value
        }
        for (name, value) in venue { result[name] = value }
        return result
    }

    /// The texts the log must not keep: the venue's password (as given and as it appears in a
    /// URL), the values of the fleet's secret variables and of every variable of gwi-fleet's
    /// environment whose name says it holds a secret (a word `SECRET`, `PASSWORD`, `PASS`, `TOKEN`, … or `API_KEY`).
    func secrets(password: String?, parent: [String: String]) -> [String] {
        var values = [String]()
        if let password {
            values.append(password)
            if let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics), encoded != password {
                values.append(encoded)
            }
        }
        for (name, value) in parent where secretVariables.contains(name) || (Self.looksSecret(name) && value.count >= 6) {
            values.append(value)
        }
        return values.filter { $0.count >= 3 }
    }

    /// A name with a word (between `_`) that says it holds a secret, or `API_KEY` in it.
    static func looksSecret(_ name: String) -> Bool {
        let upper = name.uppercased()
        let words = Set(upper.split(separator: "_").map(String.init))
        return !words.isDisjoint(with: ["SECRET", "PASSWORD", "PASSWD", "PASS", "PASSPHRASE", "TOKEN", "PRIVATE", "IDENTITY",
                                        "CREDENTIAL", "CREDENTIALS", "APIKEY"]) || upper.contains("API_KEY")
    }

    static func matches(_ name: String, _ patterns: [String]) -> Bool {
        patterns.contains { $0.hasSuffix("*") ? name.hasPrefix($0.dropLast()) : name == $0 }
    }
}

import Foundation

/// Errors of the scratch server rather than of the backup: a role or a tablespace that the dump
/// names and the server a restore test runs on lacks. Such a test says nothing about the backup.
enum ScratchEnvironment {
    /// `role "x"` or `tablespace "x"` when `message` says the server lacks it; nil otherwise.
    static func missing(in message: String) -> String? {
        let patterns = [
            (#"role "((?:[^"]|"")*)" does not exist"#, "role"),
            (#"[Tt]ablespace "((?:[^"]|"")*)" does not exist"#, "tablespace"),
            (#"invalid value for parameter "default_tablespace": "((?:[^"]|"")*)""#, "tablespace"),
            (#"could not set default_tablespace to ([^:]+):"#, "tablespace"),
        ]
        // `try!`: the patterns are the constants above, each exercised by VerifyScratchTests.
        for (pattern, kind) in patterns {
            if let name = message.firstMatch(of: try! Regex(pattern))?.output[1].substring { return "\(kind) \"\(name)\"" }
        }
        return nil
    }

    /// What goes wrong in a restore test: the scratch server's lack (`verify.no_owner` or creating
    /// it there is the fix), else nil (the error is the backup's).
    static func problem(of error: Error, noOwner: Bool) -> String? {
        guard let missing = missing(in: "\(error)") else { return nil }
        return "the scratch server lacks \(missing) (an error of the scratch environment, not of the backup); "
            + (noOwner ? "create it there" : "create it there or set verify.no_owner: true")
    }

    /// The first error of a plain dump loaded by `psql -b` without ON_ERROR_STOP that is not an
    /// owner, grant or tablespace statement failing for a role or tablespace the server lacks;
    /// nil when there is none. `text` is psql's standard error: each error is
    /// `psql:<stdin>:N: ERROR:  …`, its DETAIL and CONTEXT lines, then `psql:<stdin>:N: STATEMENT:  …`.
    static func firstFailure(inPsqlErrors text: String) -> String? {
        var message: String?
        var failures: [String] = []
        func statement(_ sql: String) {
            guard let current = message else { return }
            message = nil
            if !isEnvironmentStatement(sql, failingWith: current) { failures.append(current) }
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if let range = line.range(of: ": ERROR:  ") {
                if let pending = message { failures.append(pending) }  // an error with no statement
                message = String(line[range.upperBound...])
            } else if let range = line.range(of: ": STATEMENT:  ") {
                statement(String(line[range.upperBound...]))
            } else if line.contains(": FATAL:  ") || line.hasPrefix("psql: error:") {
                failures.append(String(line))
            }
        }
        if let pending = message { failures.append(pending) }
        return failures.first
    }

    /// `ALTER … OWNER TO`, `GRANT`, `REVOKE`, `ALTER DEFAULT PRIVILEGES` failing for a missing
    /// role; `SET default_tablespace` failing for a missing tablespace.
    static func isEnvironmentStatement(_ sql: String, failingWith message: String) -> Bool {
        let statement = sql.trimmingCharacters(in: .whitespaces).uppercased()
        guard let missing = missing(in: message) else { return false }
        if missing.hasPrefix("role ") {
            return (statement.hasPrefix("ALTER ") && statement.contains(" OWNER TO ")) || statement.hasPrefix("GRANT ")
                || statement.hasPrefix("REVOKE ") || statement.hasPrefix("ALTER DEFAULT PRIVILEGES ")
        }
        return statement.hasPrefix("SET DEFAULT_TABLESPACE ")
    }
}

import Foundation

/// The pgbackrest command line, run as the repository's owner: `info` for the recovery window
/// and `restore` of one database at a moment, with pgBackRest's errors turned into ones that say
/// what to do. Never `--set`: with `--type=time` pgBackRest picks the newest backup that ended
/// before the target, while a named set that ended after it silently recovers to that set's end.
struct PgBackRest: Sendable {
    var executable: String
    var stanza: String
    var config: String?
    var owner: ClusterOwner

    init(settings: PgBackRestSetup, owner: ClusterOwner,
         environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        stanza = settings.stanza
        config = settings.config
        self.owner = owner
        if let configured = settings.pgbackrest {
            guard FileManager.default.isExecutableFile(atPath: configured) else {
                throw PgBackRestRecoveryError.toolMissing(tool: configured, hint: "install pgbackrest (Debian: apt-get install pgbackrest)")
            }
            executable = configured
        } else {
            let found = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/pgbackrest" }
                .first { FileManager.default.isExecutableFile(atPath: $0) }
            guard let found else {
                throw PgBackRestRecoveryError.toolMissing(tool: "pgbackrest", hint: "install it (Debian: apt-get install pgbackrest)")
            }
            executable = found
        }
    }

    /// Always the stanza, and the configuration file when one is named: Debian's default
    /// /etc/pgbackrest.conf points at /var/lib/pgbackrest, which is rarely the fleet's repository.
    private var common: [String] { (config.map { ["--config=\($0)"] } ?? []) + ["--stanza=\(stanza)"] }

    /// The stanza's backup sets, oldest first (`pgbackrest --output=json info`).
    func backups() async throws -> [RecoveryWindow.Backup] {
        let result = try await owner.process(executable, common + ["--log-level-console=off", "--log-level-stderr=error", "--output=json", "info"])
            .run(output: .captured(limit: 16 << 20))
        guard result.succeeded else {
            throw PgBackRestRecoveryError.pgbackrest(command: "info", stanza: stanza, status: result.statusText, message: Self.errorText(result))
        }
        let stanzas: [RawStanza]
        do {
            stanzas = try JSONDecoder().decode([RawStanza].self, from: Data(result.standardOutput.utf8))
        } catch {
            throw PgBackRestRecoveryError.pgbackrest(command: "info", stanza: stanza, status: "printed JSON that could not be read",
                                                     message: "\(error)")
        }
        guard let entry = stanzas.first(where: { $0.name == stanza }) else {
            throw PgBackRestRecoveryError.noBackups(stanza: stanza, status: "the stanza is not in the repository")
        }
        let backups = (entry.backup ?? []).map { raw in
            RecoveryWindow.Backup(label: raw.label, type: raw.type,
                                  startedAt: Date(timeIntervalSince1970: TimeInterval(raw.timestamp.start)),
                                  stoppedAt: Date(timeIntervalSince1970: TimeInterval(raw.timestamp.stop)),
                                  error: raw.error ?? false)
        }
        if backups.isEmpty {
            throw PgBackRestRecoveryError.noBackups(stanza: stanza, status: entry.status.map { "\($0.message) (code \($0.code))" } ?? "no backup sets")
        }
        return backups.sorted { $0.stoppedAt < $1.stoppedAt }
    }

    /// `pgbackrest check`: the stanza's configuration, and that the server's WAL reaches the
    /// repository (it switches a segment and waits for its archive).
    func check() async throws {
        let result = try await owner.process(executable, common + ["--log-level-console=off", "--log-level-stderr=error", "check"])
            .run(output: .captured(limit: 1 << 20))
        guard result.succeeded else {
            throw PgBackRestRecoveryError.pgbackrest(command: "check", stanza: stanza, status: result.statusText, message: Self.errorText(result))
        }
    }

    /// Restores the cluster, with only `database` (and the system databases) filled in, into
    /// `directory`, set to recover to `target` and promote. Returns the backup set it started from.
    func restore(database: String, at target: Date, into directory: String, window: RecoveryWindow) async throws -> String? {
        let result = try await owner.process(executable, common + [
            "--log-level-console=info", "--log-level-stderr=off", "restore",
            "--type=time", "--target=\(Self.timeText(target))", "--target-action=promote",
            "--db-include=\(database)", "--archive-mode=off", "--pg1-path=\(directory)",
        ]).run(output: .captured(limit: 1 << 20))
        guard result.succeeded else {
            let message = Self.errorText(result)
            // [075] no backup set ended before the target; [080] the database is not in the one that did.
            if message.contains("[075]") { throw PgBackRestRecoveryError.targetBeforeWindow(target: target, window: window) }
            if message.contains("[080]") {
                throw PgBackRestRecoveryError.databaseNotInBackup(database: database, stanza: stanza, message: message)
            }
            throw PgBackRestRecoveryError.pgbackrest(command: "restore", stanza: stanza, status: result.statusText, message: message)
        }
        return Self.backupSet(inRestoreOutput: result.standardOutput)
    }

    /// `INFO: repo1: restore backup set 20261202-030630F, recovery will start at …` → `20261202-030630F`
    static func backupSet(inRestoreOutput output: String) -> String? {
        guard let range = output.range(of: "restore backup set ") else { return nil }
        let label = output[range.upperBound...].prefix { !$0.isWhitespace && $0 != "," }
        return label.isEmpty ? nil : String(label)
    }

    /// pgBackRest's `ERROR: [075]: …` lines (it writes them to standard output or error depending on
    /// its log levels), or its last lines when none says ERROR.
    static func errorText(_ result: ChildProcess.Result) -> String {
        let lines = (result.standardOutput + "\n" + result.standardError).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let errors = lines.filter { $0.contains("ERROR:") }
        return (errors.isEmpty ? lines : errors).suffix(3).joined(separator: "; ")
    }

    /// `2026-12-02 03:06:36.938954+00`: the one target format both pgBackRest and PostgreSQL read
    /// (ISO `T…Z` and `UTC` are refused with ERROR [029]), to the microsecond PostgreSQL stores.
    static func timeText(_ date: Date) -> String {
        let micros = microseconds(date)
        let (quotient, remainder) = micros.quotientAndRemainder(dividingBy: 1_000_000)
        var seconds = time_t(remainder < 0 ? quotient - 1 : quotient)
        let fraction = remainder < 0 ? remainder + 1_000_000 : remainder
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, fraction)
    }

    /// The microseconds since 1970 a date stands for, as PostgreSQL would store it. Moments are
    /// parsed to whole microseconds (finer digits dropped there, never rounded up), and a date
    /// holds them to about 0.1 µs: the nearest microsecond is the one that was meant.
    static func microseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    // `pgbackrest --output=json info`: only what the window needs; other keys are ignored.
    private struct RawStanza: Decodable {
        var name: String
        var status: RawStatus?
        var backup: [RawBackup]?
    }

    private struct RawStatus: Decodable {
        var code: Int
        var message: String
    }

    private struct RawBackup: Decodable {
        var label: String
        var type: String
        var timestamp: RawTimestamp
        var error: Bool?
    }

    private struct RawTimestamp: Decodable {
        var start: Int
        var stop: Int
    }
}

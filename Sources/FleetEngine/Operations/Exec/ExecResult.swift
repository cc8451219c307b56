/// `exec` on one venue: the backup taken before, the command's log and exit, and any rollback.
public struct ExecResult: VenueResult {
    public static let command = "exec"

    /// How the command ended: its exit code, or the signal that ended it.
    public enum Exit: Sendable, Equatable, Codable {
        case code(Int)
        case signal(String)

        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let code = try? container.decode(Int.self) { self = .code(code) } else { self = .signal(try container.decode(String.self)) }
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .code(let code): try container.encode(code)
            case .signal(let text): try container.encode(text)
            }
        }
    }

    /// The backup taken before the command; nil with `--no-backup`.
    public var backup: String?
    public var log: String?
    public var exitCode: Exit?
    /// Set when a rollback was tried: whether it worked, and its restore or its error.
    public var rolledBack: Bool?
    public var rollback: RestoreResult?
    public var rollbackError: String?
    public var summary: String
    public var warnings: [String]

    public init(backup: String?, summary: String = "", warnings: [String] = []) {
        self.backup = backup
        self.summary = summary
        self.warnings = warnings
    }

    enum CodingKeys: String, CodingKey {
        case backup, log, exitCode = "exit_code", rolledBack = "rolled_back", rollback, rollbackError = "rollback_error"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(backup: try container.decodeIfPresent(String.self, forKey: .backup))
        log = try container.decodeIfPresent(String.self, forKey: .log)
        exitCode = try container.decodeIfPresent(Exit.self, forKey: .exitCode)
        rolledBack = try container.decodeIfPresent(Bool.self, forKey: .rolledBack)
        rollback = try container.decodeIfPresent(RestoreResult.self, forKey: .rollback)
        rollbackError = try container.decodeIfPresent(String.self, forKey: .rollbackError)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(backup, forKey: .backup)
        try container.encodeIfPresent(log, forKey: .log)
        try container.encodeIfPresent(exitCode, forKey: .exitCode)
        try container.encodeIfPresent(rolledBack, forKey: .rolledBack)
        try container.encodeIfPresent(rollback, forKey: .rollback)
        try container.encodeIfPresent(rollbackError, forKey: .rollbackError)
    }
}

/// One thing wrong with a fleet file, naming where it is: venue, key and line.
public struct FleetFileProblem: Sendable, Equatable, CustomStringConvertible {
    /// The venue's slug (or its position, `venues[3]`), nil for fleet-wide keys.
    public var venue: String?
    /// The key's path, e.g. `defaults.backup.format` or `timeout`.
    public var key: String?
    /// 1-based line in the fleet file, where known.
    public var line: Int?
    public var message: String

    public init(venue: String? = nil, key: String? = nil, line: Int? = nil, message: String) {
        self.venue = venue
        self.key = key
        self.line = line
        self.message = message
    }

    public var description: String {
        var parts: [String] = []
        if let line { parts.append("line \(line)") }
        if let venue { parts.append("venue `\(venue)`") }
        if let key { parts.append("key `\(key)`") }
        return (parts.isEmpty ? "" : parts.joined(separator: ", ") + ": ") + message
    }
}

/// Why a fleet file could not be used. Nothing has been touched when this is thrown.
public enum FleetFileError: Error, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case invalid(path: String, problems: [FleetFileProblem])

    public var problems: [FleetFileProblem] {
        switch self {
        case .unreadable(_, let reason): [FleetFileProblem(message: reason)]
        case .invalid(_, let problems): problems
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read fleet file \(path): \(reason)"
        case .invalid(let path, let problems):
            let count = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
            return "fleet file \(path) has \(count); no venue was touched:\n"
                + problems.map { "  - \($0)" }.joined(separator: "\n")
        }
    }
}

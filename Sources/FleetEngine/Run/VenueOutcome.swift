import FleetModel

/// How a venue's work ended.
public enum VenueStatus: String, Sendable, Codable {
    /// `warning`: the work succeeded but something needs a look (only `sweep` gives it).
    case ok, warning, failed, skipped
}

/// The result of one venue's work: a value, never a thrown error, so one venue cannot stop another.
public struct VenueOutcome: Sendable, Equatable {
    public var slug: String
    public var database: String
    public var status: VenueStatus
    public var duration: Duration
    /// Why it failed (step, cause, hint) or was skipped; nil when ok.
    public var failure: VenueError?
    /// `failure` as one line: what the report's `error` and the terminal show.
    public var error: String? {
        get { failure?.description }
        set { failure = newValue.map { VenueError($0) } }
    }
    /// One line for the terminal table (the result's, redacted).
    public var summary: String
    /// Reasons for a `warning` status (the result's, redacted).
    public var warnings: [String]
    /// What the operation found: set when it succeeded, and on some failures (an exec's log and exit code).
    public var result: (any VenueResult)?

    public init(slug: String, database: String, status: VenueStatus, duration: Duration = .zero,
                error: String? = nil, result: (any VenueResult)? = nil) {
        self.slug = slug
        self.database = database
        self.status = status
        self.duration = duration
        self.failure = error.map { VenueError($0) }
        self.result = result
        summary = result?.summary ?? ""
        warnings = result?.warnings ?? []
    }

    public var durationMilliseconds: Int { duration.milliseconds }

    /// The result as the type a reader expects, or nil.
    public func result<Result: VenueResult>(as type: Result.Type) -> Result? { result as? Result }

    public static func == (lhs: VenueOutcome, rhs: VenueOutcome) -> Bool {
        guard lhs.slug == rhs.slug, lhs.database == rhs.database, lhs.status == rhs.status, lhs.duration == rhs.duration,
              lhs.failure == rhs.failure, lhs.summary == rhs.summary, lhs.warnings == rhs.warnings else { return false }
        guard let left = lhs.result else { return rhs.result == nil }
        return left.isEqual(to: rhs.result)
    }

    enum CodingKeys: String, CodingKey {
        case slug, database, status, durationMS = "duration_ms", error, errorDetail = "error_detail", summary, warnings
    }

    /// The venue's keys, then its result's keys in the same object.
    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(slug, forKey: .slug)
        try container.encode(database, forKey: .database)
        try container.encode(status, forKey: .status)
        try container.encode(durationMilliseconds, forKey: .durationMS)
        try container.encode(error, forKey: .error)
        try container.encodeIfPresent(failure, forKey: .errorDetail)
        try container.encode(summary, forKey: .summary)
        if !warnings.isEmpty { try container.encode(warnings, forKey: .warnings) }
        try result?.encode(to: encoder)
    }

    /// Reads a venue of a report of `command`. A result that does not decode (a failed venue
    /// without one, a report of an older gwi-fleet missing a key) is nil; the venue still reads.
    init(from decoder: Decoder, command: String) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(slug: try container.decode(String.self, forKey: .slug),
                  database: try container.decodeIfPresent(String.self, forKey: .database) ?? "",
                  status: try container.decode(VenueStatus.self, forKey: .status),
                  duration: .milliseconds(try container.decodeIfPresent(Int.self, forKey: .durationMS) ?? 0),
                  error: try container.decodeIfPresent(String.self, forKey: .error))
        if let detail = try container.decodeIfPresent(VenueError.self, forKey: .errorDetail) { failure = detail }
        summary = try container.decodeIfPresent(String.self, forKey: .summary) ?? ""
        warnings = try container.decodeIfPresent([String].self, forKey: .warnings) ?? []
        result = try? VenueResults.type(of: command)?.init(from: decoder)
    }
}

import FleetModel

/// How a venue's work ended.
public enum VenueStatus: String, Sendable, Codable {
    /// `warning`: the work succeeded but something needs a look (only `sweep` gives it).
    case ok, warning, failed, skipped
}

/// What an operation found on one venue: fields for the JSON report, in order, and a one-line
/// summary for the terminal table.
public struct VenueFigures: Sendable, Equatable {
    public var fields: [(String, JSONValue)]
    public var summary: String
    /// Reasons for a `warning` status; empty for a plain `ok`.
    public var warnings: [String]

    public init(_ fields: [(String, JSONValue)] = [], summary: String = "", warnings: [String] = []) {
        self.fields = fields
        self.summary = summary
        self.warnings = warnings
    }

    public static func == (lhs: VenueFigures, rhs: VenueFigures) -> Bool {
        JSONValue.object(lhs.fields) == JSONValue.object(rhs.fields) && lhs.summary == rhs.summary && lhs.warnings == rhs.warnings
    }

    public subscript(key: String) -> JSONValue? { fields.first { $0.0 == key }?.1 }
}

/// The result of one venue's work: a value, never a thrown error, so one venue cannot stop another.
public struct VenueOutcome: Sendable, Equatable {
    public var slug: String
    public var database: String
    public var status: VenueStatus
    public var duration: Duration
    /// Why it failed or was skipped; nil when ok.
    public var error: String?
    public var figures: VenueFigures

    public init(slug: String, database: String, status: VenueStatus, duration: Duration = .zero,
                error: String? = nil, figures: VenueFigures = VenueFigures()) {
        self.slug = slug
        self.database = database
        self.status = status
        self.duration = duration
        self.error = error
        self.figures = figures
    }

    public var durationMilliseconds: Int { duration.milliseconds }
}

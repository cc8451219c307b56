import Foundation

/// A `--venue` or `--tag` that matches nothing in the fleet file.
public enum SelectionError: Error, Sendable, CustomStringConvertible {
    case unknownVenues([String], known: [String])
    case unknownTags([String])

    public var description: String {
        switch self {
        case .unknownVenues(let slugs, let known):
            "no venue \(slugs.map { "`\($0)`" }.joined(separator: ", ")) in the fleet file (venues: \(known.joined(separator: ", ")))"
        case .unknownTags(let tags):
            "no venue is tagged \(tags.map { "`\($0)`" }.joined(separator: ", "))"
        }
    }
}

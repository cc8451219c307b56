/// SQL `LIKE` matching as PostgreSQL does it: `%` any run, `_` any one character, `\` escapes.
public struct LikePattern: Sendable, Equatable {
    private enum Token: Equatable { case any, one, literal(Character) }
    private let tokens: [Token]
    public let text: String

    public init(_ text: String) {
        self.text = text
        var tokens: [Token] = []
        var escaped = false
        for character in text {
            if escaped { tokens.append(.literal(character)); escaped = false; continue }
            switch character {
            case "\\": escaped = true
            case "%": if tokens.last != .any { tokens.append(.any) }
            case "_": tokens.append(.one)
            default: tokens.append(.literal(character))
            }
        }
        if escaped { tokens.append(.literal("\\")) }
        self.tokens = tokens
    }

    public func matches(_ value: String) -> Bool {
        let characters = Array(value)
        // Classic two-pointer wildcard match with backtracking to the last `%`.
        var (t, c) = (0, 0)
        var star: (token: Int, character: Int)?
        while c < characters.count {
            if t < tokens.count, tokens[t] == .one || tokens[t] == .literal(characters[c]) {
                t += 1; c += 1
            } else if t < tokens.count, tokens[t] == .any {
                star = (t, c); t += 1
            } else if let last = star {
                t = last.token + 1; c = last.character + 1; star = (last.token, last.character + 1)
            } else {
                return false
            }
        }
        while t < tokens.count, tokens[t] == .any { t += 1 }
        return t == tokens.count
    }

    public static func any(_ patterns: [String], match value: String) -> Bool {
        patterns.contains { LikePattern($0).matches(value) }
    }
}

/// Durations as written in fleet files: `90s`, `30m`, `1h30m`, `2d`, `500ms`.
public enum FleetDuration {
    /// Parses a duration, or returns nil when the text is not one (zero is none: a timeout of 0s
    /// would end everything at once).
    public static func parse(_ text: String) -> Duration? {
        parseAge(text).flatMap { $0 > .zero ? $0 : nil }
    }

    /// A minimum age (`leftovers --older-than`): a duration, or zero (`0s`, `0d`) meaning any age.
    public static func parseAge(_ text: String) -> Duration? {
        let units: [(String, Duration)] = [
            ("ms", .milliseconds(1)), ("s", .seconds(1)), ("m", .seconds(60)), ("h", .seconds(3600)),
            ("d", .seconds(86_400)),
        ]
        var total = Duration.zero
        var rest = Substring(text.trimmingWhitespace())
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            // Twelve digits at most: enough for any real duration, far from overflowing Duration.
            guard !digits.isEmpty, digits.count <= 12, let amount = Int(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.0) })
            else { return nil }
            rest = rest.dropFirst(unit.0.count)
            total += unit.1 * amount
            // Past a century it is no duration anyone means, and many such terms would overflow.
            guard total <= .seconds(100 * 366 * 86_400) else { return nil }
        }
        return total
    }

    /// The inverse, for messages and reports: `1h30m`, `45s`, `250ms`.
    public static func format(_ duration: Duration) -> String {
        let milliseconds = Int64(duration.milliseconds)
        if milliseconds % 1000 != 0 { return "\(milliseconds)ms" }
        var seconds = milliseconds / 1000
        var text = ""
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60), ("s", 1)] where seconds >= size {
            text += "\(seconds / size)\(unit)"
            seconds %= size
        }
        return text.isEmpty ? "0s" : text
    }
}

extension Duration {
    /// Whole milliseconds, for reports, SQL settings and messages.
    public var milliseconds: Int {
        Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> SubSequence {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<end]
    }
}

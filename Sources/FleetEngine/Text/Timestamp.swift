import Foundation

/// UTC timestamps as the project writes them.
public enum Timestamp {
    /// `2026-11-24T23:39:39.123Z`, rounded to the millisecond so that it parses back to itself.
    public static func iso8601(_ date: Date) -> String {
        let (parts, milliseconds) = utc(date)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, milliseconds)
    }

    public static func parse(_ text: String) -> Date? {
        (try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: .iso8601))
    }

    /// Reads `20261124T233939Z` back.
    public static func parseCompact(_ text: String) -> Date? {
        let digits = text.filter(\.isNumber)
        guard digits.count == 14 else { return nil }
        let d = Array(digits)
        let iso = "\(String(d[0..<4]))-\(String(d[4..<6]))-\(String(d[6..<8]))T\(String(d[8..<10])):\(String(d[10..<12])):\(String(d[12..<14]))Z"
        return parse(iso)
    }

    /// `20261124T233939Z`, for file names: sorts by time, no characters shells dislike.
    public static func compact(_ date: Date) -> String {
        let (parts, _) = utc(date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    private static func utc(_ date: Date) -> (tm, Int32) {
        let total = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var seconds = time_t(total.quotientAndRemainder(dividingBy: 1000).quotient - (total < 0 && total % 1000 != 0 ? 1 : 0))
        let milliseconds = Int32(total - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return (parts, milliseconds)
    }

    /// `2026-12-01T14:32:05Z`, `2026-12-01T14:32:05.250+02:00` or `2026-12-01 14:32:05+02:00`: RFC 3339,
    /// a space allowed for the `T`; the zone is required (`Z`, `±HH:MM`, `±HHMM`, `±HH`). Fractions
    /// are kept to the microsecond (PostgreSQL's precision); finer digits are dropped, never rounded up.
    public static func parseRFC3339(_ text: String) -> Date? {
        let pattern = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?\s?(Z|z|[+-]\d{2}(?::?\d{2})?)$/
        guard let match = text.wholeMatch(of: pattern) else { return nil }
        guard let whole = parse("\(match.1)-\(match.2)-\(match.3)T\(match.4):\(match.5):\(match.6)Z"),
              // A date that does not exist (February 30th, 24:00, second 60) is refused, not rolled over.
              compact(whole) == "\(match.1)\(match.2)\(match.3)T\(match.4)\(match.5)\(match.6)Z" else { return nil }
        let fraction = (match.7.map { String($0.dropFirst()) } ?? "").prefix(6)
        let micros = Int(fraction.padding(toLength: 6, withPad: "0", startingAt: 0)) ?? 0
        let utc = whole.addingTimeInterval(Double(micros) / 1_000_000)
        let zone = match.8
        guard zone != "Z" && zone != "z" else { return utc }
        let digits = zone.dropFirst().filter(\.isNumber)
        guard let hours = Int(digits.prefix(2)), let minutes = Int(digits.count > 2 ? digits.suffix(2) : "00"), hours < 24, minutes < 60 else { return nil }
        // 14:32:05+02:00 is 12:32:05Z: the offset is how far the local clock is ahead of UTC.
        return utc.addingTimeInterval(-Double(zone.first == "-" ? -1 : 1) * Double(hours * 3600 + minutes * 60))
    }
}

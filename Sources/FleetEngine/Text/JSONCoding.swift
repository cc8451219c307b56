import Foundation

/// The one JSON dialect gwi-fleet writes and reads: pretty-printed with sorted keys (stable diffs,
/// stable output), slashes unescaped, dates as `Timestamp.iso8601` strings.
public enum JSONCoding {
    /// Compact, keys sorted; `text` lays it out.
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.iso8601(date))
        }
        return encoder
    }()

    /// One line, for log lines and webhook bodies: the same encoder.
    public static var compactEncoder: JSONEncoder { encoder }

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad date \(text)"))
            }
            return date
        }
        return decoder
    }()

    /// `value` as pretty JSON text ending in a newline.
    public static func text(_ value: some Encodable) -> String {
        // Encoding our own Codable values cannot fail: no floats that are not finite, no foreign types.
        pretty((try? encoder.encode(value)) ?? Data("null".utf8)) + "\n"
    }

    /// Compact JSON laid out two spaces a level, `"key": value`, empty containers as `{}` and `[]`
    /// (Foundation's own pretty printing writes `"key" : value`).
    static func pretty(_ compact: Data) -> String {
        let bytes = [UInt8](compact)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        var depth = 0, inString = false, escaped = false
        func newline() {
            out.append(UInt8(ascii: "\n"))
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * 2))
        }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            defer { index += 1 }
            if inString {
                out.append(byte)
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                out.append(byte)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                out.append(byte)
                let closing = byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if index + 1 < bytes.count, bytes[index + 1] == closing {
                    out.append(closing)
                    index += 1
                } else {
                    depth += 1
                    newline()
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                newline()
                out.append(byte)
            case UInt8(ascii: ","):
                out.append(byte)
                newline()
            case UInt8(ascii: ":"):
                out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
            default:
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `value` as one line of JSON.
    public static func line(_ value: some Encodable) -> String {
        (try? compactEncoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}

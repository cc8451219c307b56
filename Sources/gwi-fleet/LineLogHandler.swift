import FleetEngine
import Foundation
import Logging

/// Log lines on stderr as operators' tools read them: logfmt
/// (`ts=… level=info venue=joes-bar status=ok duration_ms=412 msg="…"`) or one JSON object a line.
struct LineLogHandler: LogHandler {
    enum Format: String, CaseIterable { case logfmt, json }

    /// A field's value: text, or a number (written bare in JSON, e.g. `duration_ms`).
    enum Value {
        case text(String)
        case number(String)

        var string: String { switch self { case .text(let text), .number(let text): text } }
    }
    typealias Field = (key: String, value: Value)

    var format: Format
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        var fields: [Field] = [("ts", .text(Timestamp.iso8601(WallClock.now()))), ("level", .text(level.rawValue))]
        let merged = metadata.merging(explicit ?? [:]) { $1 }
        // The venue and its status first, then the rest in a stable order, the message last.
        let first = ["run_id", "venue", "status", "duration_ms"]
        for key in first { if let value = merged[key] { fields.append((key, Self.value(value))) } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !first.contains(key) {
            fields.append((key, Self.value(value)))
        }
        fields.append(("msg", .text(message.description)))
        Terminal.logLine(Self.render(fields, format: format))
    }

    /// Numbers logged as numbers (`.stringConvertible(42)`) stay numbers in JSON.
    static func value(_ value: Logger.MetadataValue) -> Value {
        if case .stringConvertible(let number) = value, number is any BinaryInteger || number is Double {
            let text = "\(number)"
            if Double(text)?.isFinite == true { return .number(text) }
        }
        return .text("\(value)")
    }

    static func render(_ fields: [Field], format: Format) -> String {
        switch format {
        case .json:
            return "{" + fields.map { field in
                let value = switch field.value { case .number(let text): text; case .text(let text): JSONCoding.line(text) }
                return JSONCoding.line(field.key) + ":" + value
            }.joined(separator: ",") + "}"
        case .logfmt:
            return fields.map { key, field in
                let value = field.string
                let plain = !value.isEmpty && value.allSatisfy { !$0.isWhitespace && $0 != "\"" && $0 != "=" && $0 != "\\" }
                return "\(key)=" + (plain ? value : "\"" + value.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n") + "\"")
            }.joined(separator: " ")
        }
    }
}

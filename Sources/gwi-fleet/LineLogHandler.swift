import FleetEngine
import Foundation
import Logging

/// Log lines on stderr as operators' tools read them: logfmt
/// (`ts=… level=info venue=joes-bar status=ok duration_ms=412 msg="…"`) or one JSON object a line.
struct LineLogHandler: LogHandler {
    enum Format: String, CaseIterable { case logfmt, json }

    var format: Format
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        var fields: [(String, String)] = [("ts", Timestamp.iso8601(WallClock.now())), ("level", level.rawValue)]
        let merged = metadata.merging(explicit ?? [:]) { $1 }
        // The venue and its status first, then the rest in a stable order, the message last.
        for key in ["venue", "status", "duration_ms"] { if let value = merged[key] { fields.append((key, "\(value)")) } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !["venue", "status", "duration_ms"].contains(key) {
            fields.append((key, "\(value)"))
        }
        fields.append(("msg", message.description))
        Terminal.error(Self.render(fields, format: format))
    }

    static func render(_ fields: [(String, String)], format: Format) -> String {
        switch format {
        case .json:
            return "{" + fields.map { JSONCoding.line($0.0) + ":" + JSONCoding.line($0.1) }.joined(separator: ",") + "}"
        case .logfmt:
            return fields.map { key, value in
                let plain = !value.isEmpty && value.allSatisfy { !$0.isWhitespace && $0 != "\"" && $0 != "=" && $0 != "\\" }
                return "\(key)=" + (plain ? value : "\"" + value.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n") + "\"")
            }.joined(separator: " ")
        }
    }
}

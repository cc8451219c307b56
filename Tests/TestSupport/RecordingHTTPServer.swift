import Foundation

/// An HTTP server on 127.0.0.1 that answers 200 to everything and records each request (method,
/// path, body) as a JSON line: the webhook end of notification tests.
public final class RecordingHTTPServer: Sendable {
    public let port: Int
    public let log: String

    public init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-http-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = directory + "/server.py"
        log = directory + "/requests.jsonl"
        try """
            import http.server, json, sys
            class Handler(http.server.BaseHTTPRequestHandler):
                def record(self):
                    length = int(self.headers.get('Content-Length') or 0)
                    body = self.rfile.read(length).decode() if length else ''
                    with open(sys.argv[2], 'a') as f:
                        f.write(json.dumps({'method': self.command, 'path': self.path, 'body': body}) + '\\n')
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b'ok')
                do_POST = record
                do_GET = record
                def log_message(self, *args):
                    pass
            http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Handler).serve_forever()
            """.write(toFile: script, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: log, contents: Data())
        let python = try MotoServer.find("python3")
        port = try BackgroundProcess.serve("the recording HTTP server") { [log] port in (python, [script, String(port), log]) }
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Every request so far: `method`, `path`, `body`.
    public func requests() -> [[String: String]] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]
        }
    }
}

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The one place gwi-fleet speaks HTTP: a POST (or GET) with a 10 s timeout and three tries with
/// backoff. Foundation's URLSession, so no HTTP package is built for a handful of requests a run.
struct WebhookClient: Sendable {
    var timeout: TimeInterval = 10
    var attempts = 3
    var firstBackoff: Duration = .milliseconds(500)

    /// Nil when it was delivered (2xx), else why not (the URL is never part of the message).
    func send(_ url: String, method: String = "POST", json body: Data? = nil) async -> String? {
        await send(url, method: method, body: body, contentType: "application/json")
    }

    func send(_ url: String, method: String, body: Data?, contentType: String) async -> String? {
        guard let target = URL(string: url) else { return "not a valid URL" }
        var request = URLRequest(url: target, timeoutInterval: timeout)
        request.httpMethod = method
        if let body {
            request.httpBody = body
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        request.setValue("gwi-fleet", forHTTPHeaderField: "User-Agent")
        var backoff = firstBackoff
        var failure = "not sent"
        let request0 = request
        for attempt in 1...max(1, attempts) {
            do {
                // Our own deadline per try: URLSession's timeout does not bound a server that
                // accepts the connection and never answers.
                let status = try await withDeadline(.milliseconds(Int(timeout * 1000))) {
                    let (_, response) = try await URLSession.shared.data(for: request0)
                    return (response as? HTTPURLResponse)?.statusCode ?? 0
                }
                if (200..<300).contains(status) { return nil }
                failure = "HTTP \(status)"
            } catch FleetEngineError.timedOut {
                failure = "no answer within \(Int(timeout)) s"
            } catch {
                failure = (error as NSError).localizedDescription
                    .replacingOccurrences(of: url, with: "(webhook)")
            }
            if Task.isCancelled { return "not sent: the run was interrupted (\(failure))" }
            if attempt < attempts { try? await Task.sleep(for: backoff); backoff *= 2 }
        }
        return "\(failure) after \(attempts) tries"
    }
}

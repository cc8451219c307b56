import FleetEngine
import FleetModel
import Foundation
import Logging
import Synchronization

/// Writing to the terminal: tables to stdout, messages and progress to stderr.
enum Terminal {
    static let stderrIsTerminal = isatty(STDERR_FILENO) == 1
    static let stdoutIsTerminal = isatty(STDOUT_FILENO) == 1

    static func out(_ text: String, terminator: String = "\n") {
        FileHandle.standardOutput.write(Data((text + terminator).utf8))
    }

    /// The terminal's width in columns (stderr), 80 when it cannot be told.
    static var columns: Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// A line cut to `width` characters (with `…`), so it never wraps.
    static func fit(_ line: String, width: Int) -> String {
        line.count < width ? line : String(line.prefix(max(1, width - 2))) + "…"
    }

    /// Set once at start (`configure(arguments:)`): `--log-format json` with stderr not a terminal
    /// makes every line on stderr one JSON object, messages included, so a log pipeline never meets
    /// a line it cannot parse.
    private static let jsonLines = Atomic<Bool>(false)
    static var logFormat: LineLogHandler.Format { jsonLines.load(ordering: .relaxed) ? .json : .logfmt }

    /// Reads `--log-format` from the command line before parsing, so even a usage error is said in
    /// the format asked for (the option itself is declared on the commands, for help and checking).
    static func configure(arguments: [String]) {
        var format: String?
        for (index, argument) in arguments.enumerated() {
            if argument == "--" { break }
            if argument == "--log-format", index + 1 < arguments.count { format = arguments[index + 1] }
            if argument.hasPrefix("--log-format=") { format = String(argument.dropFirst("--log-format=".count)) }
        }
        jsonLines.store(format == "json" && !stderrIsTerminal, ordering: .relaxed)
    }

    /// A message on stderr. As JSON lines, each line becomes an object whose `level` is `level`, or
    /// what its prefix says (`warning:`, `problem:`, `note:`, `error:`; the prefix then becomes `kind`).
    static func error(_ text: String, level: Logger.Level = .error) {
        guard jsonLines.load(ordering: .relaxed) else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
            return
        }
        var lines = ""
        for line in text.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            var (message, lineLevel, kind) = (String(line), level, String?.none)
            for (prefix, prefixLevel) in [("warning: ", Logger.Level.warning), ("problem: ", .error), ("note: ", .notice), ("error: ", .error)]
            where message.hasPrefix(prefix) {
                (message, lineLevel, kind) = (String(message.dropFirst(prefix.count)), prefixLevel, String(prefix.dropLast(2)))
            }
            var fields: [LineLogHandler.Field] = [("ts", .text(Timestamp.iso8601(WallClock.now()))), ("level", .text(lineLevel.rawValue))]
            if let kind { fields.append(("kind", .text(kind))) }
            fields.append(("msg", .text(message)))
            lines += LineLogHandler.render(fields, format: .json) + "\n"
        }
        FileHandle.standardError.write(Data(lines.utf8))
    }

    /// A log line already rendered by `LineLogHandler`.
    static func logLine(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Colour for status words: on a terminal (stdout), unless `NO_COLOR` is set (https://no-color.org).
    static let color = isatty(STDOUT_FILENO) == 1 && (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty

    /// A status word (already padded) in its colour: ok green, warning yellow, failed red, skipped dim.
    static func colored(status cell: String) -> String {
        let code: String
        switch cell.trimmingCharacters(in: .whitespaces) {
        case "ok": code = "32"
        case "warning": code = "33"
        case "failed": code = "31;1"
        case "skipped": code = "2"
        default: return cell
        }
        return "\u{1B}[\(code)m\(cell)\u{1B}[0m"
    }

    /// Left-aligned columns separated by two spaces; cells are single-line. `decorate` dresses a
    /// cell after padding (colour), so escape codes never upset the widths.
    static func table(headers: [String], rows: [[String]], decorate: ((Int, String) -> String)? = nil) -> String {
        let clean = rows.map { $0.map { $0.replacingOccurrences(of: "\n", with: "\\n") } }
        var widths = headers.map(\.count)
        for row in clean { for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) } }
        let line = { (cells: [String], dressed: Bool) in
            cells.enumerated().map { index, cell in
                let padded = index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                return dressed ? decorate?(index, padded) ?? padded : padded
            }.joined(separator: "  ")
        }
        return ([line(headers, false)] + clean.map { line($0, true) }).joined(separator: "\n")
    }

    /// `3d 4h`, `5h 2m`, `12m`, `in the future`
    static func age(_ seconds: TimeInterval) -> String {
        guard seconds >= 0 else { return "in the future" }
        let minutes = Int(seconds) / 60, hours = minutes / 60, days = hours / 24
        if days > 0 { return "\(days)d \(hours % 24)h" }
        if hours > 0 { return "\(hours)h \(minutes % 60)m" }
        return "\(minutes)m"
    }

    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.milliseconds
        return String(format: "%.1fs", Double(milliseconds) / 1000)
    }
}

/// The terminal as a sink of the run: a live progress line on a terminal, one log line per
/// finished venue elsewhere.
final class Progress: RunSink {
    private struct State {
        var running: [String] = []
        var done = 0
        var total = 0
        var failed = 0
        var lineShown = false
        var stopped = false
    }
    private let state = Mutex(State())
    private let start = ContinuousClock.now
    private let logger: Logger
    private let quiet: Bool

    init(logger: Logger, quiet: Bool = false) {
        self.logger = logger
        self.quiet = quiet
    }

    func receive(_ event: RunEvent) async {
        switch event {
        case .started(let command, let runID, let venues):
            state.withLock { $0.total = venues }
            // Without a terminal, the log says where each run starts and ends, by its run id.
            if !Terminal.stderrIsTerminal {
                logger.info("run started", metadata: ["run_id": .string(runID), "command": .string(command), "venues": .stringConvertible(venues)])
            }
        case .venueStarted(_, let running, let done, _):
            state.withLock { $0.running = running; $0.done = done }
        case .venueFinished(let outcome, let running, let done, _, let failed):
            state.withLock { $0.running = running; $0.done = done; $0.failed = failed }
            if Terminal.stderrIsTerminal {
                clearLine()
                if outcome.status == .failed { Terminal.error("\(outcome.slug): failed: \(outcome.error ?? "")") }
            } else if !quiet || outcome.status == .failed {
                let metadata: Logger.Metadata = ["venue": .string(outcome.slug), "status": .string(outcome.status.rawValue),
                                                 "duration_ms": .stringConvertible(outcome.durationMilliseconds)]
                let message = Logger.Message(stringLiteral: outcome.error ?? outcome.summary)
                if outcome.status == .failed { logger.error(message, metadata: metadata) } else { logger.info(message, metadata: metadata) }
            }
        case .interrupted:
            clearLine()
            Terminal.error("\ninterrupted: stopping running venues, writing the report…", level: .warning)
        case .finished(let report, let savedAt):
            state.withLock { $0.stopped = true }
            clearLine()
            // On a terminal the summary on stdout ends with the problems: said there once.
            // Discovery's problems were said on stderr as the run started.
            if !(Terminal.stderrIsTerminal && Terminal.stdoutIsTerminal) {
                let said = Set(report.discovery?.problems ?? [])
                for problem in report.problems where !said.contains(problem) { Terminal.error("problem: \(problem)") }
            }
            if !Terminal.stderrIsTerminal {
                var metadata: Logger.Metadata = [
                    "run_id": .string(report.runID), "command": .string(report.command), "exit_code": .stringConvertible(report.exitCode),
                    "duration_ms": .stringConvertible(Int(report.finishedAt.timeIntervalSince(report.startedAt) * 1000)),
                    "problems": .stringConvertible(report.problems.count),
                ]
                for status in [VenueStatus.ok, .warning, .failed, .skipped] { metadata[status.rawValue] = .stringConvertible(report.count(status)) }
                if let path = savedAt { metadata["report"] = .string(path) }
                logger.info("run finished", metadata: metadata)
            }
            return
        }
        draw()
    }

    /// Redraws the elapsed time every second while work runs.
    func tick() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            draw()
        }
    }

    private func draw() {
        guard Terminal.stderrIsTerminal else { return }
        let line = state.withLock { state -> String? in
            guard !state.stopped, state.done < state.total else { return nil }
            state.lineShown = true
            return Progress.line(done: state.done, total: state.total, failed: state.failed, running: state.running,
                                 elapsed: ContinuousClock.now - start)
        }
        guard let line else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[2K" + Terminal.fit(line, width: Terminal.columns)).utf8))
    }

    /// `[37/200] 3 failed 12.4s, about 55s left; running: a, b, c, …` (cut to the width by the caller).
    static func line(done: Int, total: Int, failed: Int, running: [String], elapsed: Duration) -> String {
        let seconds = Double(elapsed.milliseconds) / 1000
        var text = "[\(done)/\(total)]" + (failed > 0 ? " \(failed) failed" : "") + String(format: " %.1fs", seconds)
        if done > 0 && done < total {
            text += String(format: ", about %.0fs left", seconds / Double(done) * Double(total - done))
        }
        return text + "; running: " + running.prefix(6).joined(separator: ", ") + (running.count > 6 ? ", …" : "")
    }

    private func clearLine() {
        guard Terminal.stderrIsTerminal else { return }
        let shown = state.withLock { state in
            defer { state.lineShown = false }
            return state.lineShown
        }
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }
}

/// Plain tables as CSV (RFC 4180 quoting) and Markdown (pipes escaped, and `<`, `>`, `&` as
/// entities, since Markdown viewers render raw HTML: a table named `<script>` stays text).
public enum TableText {
    public static func csv(_ headers: [String], _ rows: [[String]]) -> String {
        ([headers] + rows).map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n")
    }

    public static func csvField(_ value: String) -> String {
        value.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }
            ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
    }

    public static func markdown(_ headers: [String], _ rows: [[String]]) -> String {
        (["| " + headers.map(markdownCell).joined(separator: " | ") + " |", "|" + headers.map { _ in "---|" }.joined()]
            + rows.map { "| " + $0.map(markdownCell).joined(separator: " | ") + " |" }).joined(separator: "\n")
    }

    public static func markdownCell(_ cell: String) -> String {
        markdownText(cell).replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }

    /// Text safe in Markdown prose: HTML special characters as entities.
    public static func markdownText(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

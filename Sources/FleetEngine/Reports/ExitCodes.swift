
/// The process exit codes, documented in the README.
public enum ExitCodes {
    public static let ok: Int32 = 0
    /// At least one selected venue failed, or a fleet-level problem.
    public static let venueFailed: Int32 = 1
    /// Bad command line or invalid fleet file: nothing was touched.
    public static let usage: Int32 = 2
    /// Interrupted by SIGINT or SIGTERM; the report was still written.
    public static let interrupted: Int32 = 130
}

import ArgumentParser
import FleetEngine
import Foundation

/// The entry point: parse, run one command, exit with the documented code.
@main
enum Tool {
    static func main() async {
        Terminal.configure(arguments: CommandLine.arguments)
        do {
            var command = try GwiFleet.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            // Usage errors exit 2 like fleet-file errors (ArgumentParser's own default is 64).
            if GwiFleet.exitCode(for: error) == .validationFailure {
                Terminal.error(GwiFleet.fullMessage(for: error))
                Foundation.exit(ExitCodes.usage)
            }
            GwiFleet.exit(withError: error)
        }
    }
}

struct GwiFleet: AsyncParsableCommand {
    /// Printed by `gwi-fleet --version`.
    static let version = "gwi-fleet \(FleetVersion.number) (report schema \(RunReport.schemaVersion))"
    static let configuration = CommandConfiguration(
        commandName: "gwi-fleet",
        abstract: "Back up, verify, restore, maintain and query a fleet of per-venue PostgreSQL databases.",
        discussion: """
            Exit codes: 0 every selected venue ok, warning or skipped; 1 a venue failed (or a warning \
            with sweep --strict); 2 usage error or invalid fleet file (nothing touched); 130 interrupted.
            """,
        version: GwiFleet.version,
        subcommands: [
            ValidateCommand.self, CheckCommand.self, QueryCommand.self, BackupCommand.self, BackupsCommand.self,
            VerifyCommand.self, RestoreCommand.self, PruneCommand.self, AnalyzeCommand.self, SizesCommand.self,
            CountsCommand.self, SweepCommand.self, ReportCommand.self, ExportCommand.self,
            ExecCommand.self, LeftoversCommand.self, UploadCommand.self, StatusCommand.self, ComplianceCommand.self,
        ]
    )
}

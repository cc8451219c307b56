import Foundation
import Testing
import TestSupport

/// `restore --at`'s command line: a moment without a zone, in the future, or with options that do
/// not go with it is refused before anything is read or touched.
@Suite struct RestoreAtCLITests {
    @Test(arguments: [
        (["--at", "2026-12-01 14:32:05"], "is not a valid RFC 3339 time with its zone"),
        (["--at", "2999-01-01T00:00:00Z"], "is in the future"),
        (["--at", "2026-12-01T14:32:05Z", "--backup", "x.dump"], "--at and --backup exclude each other"),
        (["--at", "2026-12-01T14:32:05Z", "--from", "remote"], "--from does not apply"),
        (["--dry-run"], "--dry-run goes with --at"),
    ])
    func badMomentsAndOptionsAreRefusedBeforeAnythingIsTouched(arguments: [String], message: String) async throws {
        let directory = try FleetDirectory("""
            version: 1
            defaults:
              url: postgresql://127.0.0.1:1/{database}
            venues:
              - slug: never
            """)
        let result = try await CLI.run(["restore", "never"] + arguments + ["--fleet", directory.fleet])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/reports"), "nothing ran")
    }
}

@testable import FleetEngine
import FleetModel
import Foundation
import PostgresClient
import Testing
import TestSupport

/// `restore --at` and `verify` through Neon's API, against `NeonTestServer`: each branch it makes
/// is the archived test cluster recovered by pgBackRest at the branch's moment, so the rows checked
/// are real. The venue's role logs in to a branch with its password (the branch asks for it).
@Suite(.timeLimit(.minutes(5))) struct NeonRecoveryTests {
    var cluster: ArchivedCluster { .shared }
    static var venuePassword: String { ArchivedCluster.superuserPassword }

    /// A Neon server of its own per test, with a key of its own.
    func neon() async throws -> (NeonTestServer, key: String) {
        let key = "neon-key-\(UUID().uuidString)"
        return (try NeonTestServer(cluster: cluster, apiKey: key), key)
    }

    func venue(_ slug: String, root: String, neon: NeonTestServer) -> Venue {
        let database = slug.replacingOccurrences(of: "-", with: "_")
        var venue = Venue(slug: slug, database: database, url: "postgresql://postgres@127.0.0.1:\(cluster.port)/\(database)",
                          passwordEnv: "GWI_TEST_VENUE_PASSWORD", timeout: .seconds(240), backup: BackupPolicy(directory: root + "/backups"))
        venue.pitr = .neon(NeonSettings(projectID: neon.projectID, apiKeyEnv: "GWI_TEST_NEON_KEY", apiURL: neon.url))
        return venue
    }

    func connector(key: String) -> VenueConnector {
        var environment = ProcessInfo.processInfo.environment
        environment["GWI_TEST_NEON_KEY"] = key
        environment["GWI_TEST_VENUE_PASSWORD"] = Self.venuePassword
        return VenueConnector(environment: environment)
    }

    func rows(_ database: String) async throws -> String {
        try await cluster.psql(database: database, sql: "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM orders")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits until the next whole second has passed, so a target at that second falls between commits.
    func nextSecond(after date: Date) async throws -> Date {
        let second = Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down) + 1)
        while Date() < second.addingTimeInterval(0.05) { try await Task.sleep(for: .milliseconds(20)) }
        return second
    }

    @Test func aVenueComesBackFromABranchAtTheMomentAndTheBranchIsDeleted() async throws {
        let (neon, key) = try await neon()
        let root = try scratchDirectory("neon-at")
        let venue = venue("neon-a", root: root, neon: neon)
        let tools = try await PgTools.locate()
        _ = try await cluster.commit(database: "neon_a", sql: "INSERT INTO orders VALUES (1, 'one')")
        let t2 = try await cluster.commit(database: "neon_a", sql: "INSERT INTO orders VALUES (2, 'two')")
        let target = try await nextSecond(after: t2)
        _ = try await cluster.commit(database: "neon_a", sql: "DELETE FROM orders")  // the mistake
        try await cluster.switchWALAndWaitUntilArchived()

        // The plan names the window and the branch it starts from, and touches nothing.
        var dry = RestoreOperation(tools: tools, connector: connector(key: key), target: .newDatabase("neon_a_at_t2"))
        (dry.at, dry.dryRun) = (target, true)
        let plan = try await dry.run(venue)
        #expect(plan.summary.contains("through neon from a read-only branch of main"), "\(plan.summary)")
        #expect(neon.requests().allSatisfy { $0["method"] as? String == "GET" })

        var copy = RestoreOperation(tools: tools, connector: connector(key: key), target: .newDatabase("neon_a_at_t2"))
        copy.at = target
        let restored = try await copy.run(venue)
        #expect(try await rows("neon_a_at_t2") == "1,2")
        #expect(try await rows("neon_a") == "")
        let pitr = try #require(restored.pitr)
        #expect(pitr.provider == "neon" && pitr.target == target && pitr.recoveredTo == target)
        #expect(pitr.branch?.hasPrefix("gwi-fleet-pitr-neon-a-\(Timestamp.compact(target))-") == true, "\(pitr)")

        // What was asked of the API: a branch of main at the moment, with a read-only endpoint,
        // then deleted; every request with the key, which appears nowhere in the result.
        let requests = neon.requests()
        #expect(requests.allSatisfy { $0["authorized"] as? Bool == true })
        let create = try #require(requests.first { $0["method"] as? String == "POST" })
        let body = try #require(try JSONSerialization.jsonObject(with: Data((create["body"] as? String ?? "").utf8)) as? [String: Any])
        let branch = try #require(body["branch"] as? [String: Any])
        #expect(branch["parent_timestamp"] as? String == Timestamp.iso8601(target).replacingOccurrences(of: ".000Z", with: "Z"))
        #expect(branch["name"] as? String == pitr.branch)
        #expect((body["endpoints"] as? [[String: Any]])?.map { $0["type"] as? String } == ["read_only"])
        #expect(requests.contains { $0["method"] as? String == "DELETE" })
        #expect(neon.branchDirectories().isEmpty)
        #expect(try await neon.branches().map { $0["name"] as? String } == ["main"])
        let report = String(decoding: try JSONCoding.encoder.encode(restored), as: UTF8.self)
        #expect(!report.contains(key) && !report.contains(Self.venuePassword))
        _ = try await cluster.psql(database: "postgres", sql: "DROP DATABASE neon_a_at_t2")
    }

    @Test func aBranchThatFailsOrAMomentOutsideTheWindowLeavesNothingBehind() async throws {
        let (neon, key) = try await neon()
        let root = try scratchDirectory("neon-fail")
        let venue = venue("neon-b", root: root, neon: neon)
        let tools = try await PgTools.locate()

        try neon.failOperations(true)
        var failing = RestoreOperation(tools: tools, connector: connector(key: key), target: .newDatabase("neon_b_never"))
        failing.at = Date()
        await #expect { _ = try await failing.run(venue) } throws: { error in
            "\(error)".contains("failed: injected failure") && !"\(error)".contains(key)
        }
        #expect(neon.requests().contains { $0["method"] as? String == "DELETE" }, "the branch is deleted when it fails")
        #expect(try await neon.branches().map { $0["name"] as? String } == ["main"])

        // Before the history the project keeps: refused before any branch is made.
        try neon.failOperations(false)
        var early = RestoreOperation(tools: tools, connector: connector(key: key), target: .newDatabase("neon_b_never"))
        early.at = cluster.fullBackupStartedAround.addingTimeInterval(-3600)
        let posts = neon.requests().filter { $0["method"] as? String == "POST" }.count
        await #expect { _ = try await early.run(venue) } throws: { "\($0)".contains("is outside the Neon recovery window") }
        #expect(neon.requests().filter { $0["method"] as? String == "POST" }.count == posts)

        // A wrong key: the API's refusal, named, the key nowhere.
        var wrongKey = RestoreOperation(tools: tools, connector: connector(key: "not-the-key"), target: .newDatabase("neon_b_never"))
        wrongKey.at = Date()
        await #expect { _ = try await wrongKey.run(venue) } throws: { error in
            "\(error)".contains("HTTP 401") && "\(error)".contains("api_key_env") && !"\(error)".contains("not-the-key")
        }
        // An api_url that redirects: not followed (the key would go wherever it points).
        var redirected = venue
        redirected.pitr = .neon(NeonSettings(projectID: neon.projectID, apiKeyEnv: "GWI_TEST_NEON_KEY",
                                             apiURL: neon.url.replacingOccurrences(of: "/api/v2", with: "/redirect/api/v2")))
        let sent = neon.requests().count
        var moved = RestoreOperation(tools: tools, connector: connector(key: key), target: .newDatabase("neon_b_never"))
        moved.at = Date()
        await #expect { _ = try await moved.run(redirected) } throws: { "\($0)".contains("HTTP 307") }
        #expect(neon.requests().count == sent + 1, "the redirect was not followed")
        // No key at all: a clear error, no request made.
        let before = neon.requests().count
        var noKey = RestoreOperation(tools: tools, connector: VenueConnector(environment: [:]), target: .newDatabase("neon_b_never"))
        noKey.at = Date()
        await #expect { _ = try await noKey.run(venue) } throws: { "\($0)".contains("$GWI_TEST_NEON_KEY (api_key_env) is not set") }
        #expect(neon.requests().count == before)
        #expect(try await cluster.psql(database: "postgres", sql: "SELECT count(*) FROM pg_database WHERE datname = 'neon_b_never'") == "0\n")
    }

    @Test func aBranchThatCannotBeDeletedDoesNotUndoTheRestoreAndIsSaid() async throws {
        let (neon, key) = try await neon()
        let root = try scratchDirectory("neon-undeletable")
        let venue = venue("neon-b", root: root, neon: neon)
        try neon.failOperations(false, failDelete: true)
        var copy = RestoreOperation(tools: try await PgTools.locate(), connector: connector(key: key), target: .newDatabase("neon_b_kept"))
        copy.at = Date()
        // A recovery to a moment needs a commit after it in the archive.
        try await cluster.switchWALAndWaitUntilArchived()
        let restored = try await copy.run(venue)
        let branch = try #require(restored.pitr?.branch)
        #expect(restored.restoredInto == "neon_b_kept")
        #expect(restored.warnings.count == 1 && restored.warnings[0].contains("the Neon branch \(branch) (br-"), "\(restored.warnings)")
        #expect(restored.warnings[0].contains("DELETE /projects/\(neon.projectID)/branches/br-"), "\(restored.warnings)")
        try neon.failOperations(false)
        let leftovers = LeftoversOperation(fleet: Fleet(path: root + "/fleet.yaml", venues: [venue], reportsDirectory: root + "/reports"),
                                           connector: connector(key: key))
        // Only the branches: the shared test server's databases belong to tests running meanwhile.
        let branches = await leftovers.plan(olderThan: .zero).decisions.filter { $0.database.kind == "neon-branch" }
        #expect(await leftovers.drop(branches).allSatisfy { $0.error == nil })
        #expect(try await neon.branches().map { $0["name"] as? String } == ["main"])
        _ = try await cluster.psql(database: "postgres", sql: "DROP DATABASE neon_b_kept")
    }

    @Test func aCreateWhoseAnswerNeverComesIsSentOnceAndItsBranchDeleted() async throws {
        let (neon, key) = try await neon()
        let root = try scratchDirectory("neon-hang-up")
        let venue = venue("neon-b", root: root, neon: neon)
        try neon.failOperations(false, delaySeconds: 600, hangUpAfterCreate: true)
        var copy = RestoreOperation(tools: try await PgTools.locate(), connector: connector(key: key), target: .newDatabase("neon_b_never"))
        copy.at = Date()
        await #expect { _ = try await copy.run(venue) } throws: { !"\($0)".contains(key) }
        // Foundation sends a request again once after a connection closed unanswered, without its
        // body: a server refuses that (as this one does), so it never makes a second branch.
        let posts = neon.requests().filter { $0["method"] as? String == "POST" && $0["truncated"] == nil }
        #expect(posts.count == 1, "the create is made once: \(posts)")
        #expect(try await neon.branches().map { $0["name"] as? String } == ["main"], "the branch Neon made is found by its name and deleted")
    }

    @Test func verifyRestoresOnARunBranchNeverOnTheVenuesServerAndDeletesIt() async throws {
        let (neon, key) = try await neon()
        let root = try scratchDirectory("neon-verify")
        var venue = venue("neon-v", root: root, neon: neon)
        venue.pitr = nil
        venue.scratchNeon = NeonSettings(projectID: neon.projectID, apiKeyEnv: "GWI_TEST_NEON_KEY", apiURL: neon.url)
        let tools = try await PgTools.locate()
        _ = try await cluster.psql(database: "neon_v", sql: "INSERT INTO orders SELECT g, 'v' FROM generate_series(1, 25) g ON CONFLICT DO NOTHING")
        _ = try await BackupOperation(tools: tools, connector: connector(key: key)).run(venue)
        try await cluster.switchWALAndWaitUntilArchived()

        let branches = VerifyScratchBranches(environment: connector(key: key).environment)
        var verify = VerifyOperation(tools: tools, connector: connector(key: key))
        verify.scratchBranches = branches
        let result = try await verify.run(venue)
        #expect(result.backups.count == 1 && result.backups[0].ok, "\(result)")
        let made = try #require(try await neon.branches().first { ($0["name"] as? String)?.hasPrefix("gwi-fleet-verify-") == true })
        #expect(await branches.finish().isEmpty)
        #expect(try await neon.branches().map { $0["name"] as? String } == ["main"])
        #expect(neon.branchDirectories().isEmpty)

        // The scratch database was made on the branch's cluster (its log), never on the venue's server.
        let log = try #require(neon.logOfDeletedBranch(made["name"] as? String ?? ""))
        #expect(log.contains("CREATE DATABASE \"gwi_verify_neon_v_"), "\(log.suffix(2000))")
        let server = (try? String(contentsOfFile: cluster.directory + "/server.log", encoding: .utf8)) ?? ""
        #expect(!server.contains("gwi_verify_neon_v_"))
        let body = try #require(neon.requests().first { $0["method"] as? String == "POST" }?["body"] as? String)
        #expect(body.contains("\"read_write\"") && !body.contains("parent_timestamp"))
    }

    @Test func leftoversListsAndDeletesOnlyOurOldBranches() async throws {
        let (neon, key) = try await neon()
        let root = try scratchDirectory("neon-leftovers")
        var venue = venue("neon-a", root: root, neon: neon)
        venue.scratchNeon = NeonSettings(projectID: neon.projectID, apiKeyEnv: "GWI_TEST_NEON_KEY", apiURL: neon.url)
        // A killed run's branch; branches somebody named alike; another fleet's venue's; one a run still uses.
        let ours = ["gwi-fleet-pitr-neon-a-20261201T143205Z-beef", "gwi-fleet-verify-20261201T020000Z-3f9a2c1d"]
        let notOurs = ["feature-x", "gwi-fleet-pitr-notes", "gwi-fleet-verify-keepme-forever", "gwi-fleet-pitr-other-venue-20261201T143205Z-beef"]
        let inUse = "gwi-fleet-pitr-neon-a-20261202T010000Z-cafe"
        for name in ours + notOurs + [inUse] { try await neon.createBranch(name) }
        let held = try ScratchLock(inUse)
        let fleet = Fleet(path: root + "/fleet.yaml", venues: [venue], reportsDirectory: root + "/reports")
        let leftovers = LeftoversOperation(fleet: fleet, connector: connector(key: key))
        let young = await leftovers.plan(olderThan: .seconds(3600))
        let listed = young.decisions.filter { $0.database.kind == "neon-branch" }
        #expect(listed.map(\.database.name).sorted() == (ours + [inUse]).sorted() && listed.allSatisfy { !$0.drop })
        #expect(listed.allSatisfy { $0.server == "neon project \(neon.projectID)" })
        // Only the branches: the shared test server's databases belong to tests running meanwhile.
        let old = await leftovers.plan(olderThan: .zero).decisions.filter { $0.database.kind == "neon-branch" }
        let dropped = await leftovers.drop(old)
        #expect(dropped.filter { $0.error != nil }.map(\.database.name) == [inUse], "\(dropped.map(\.error))")
        #expect(dropped.first { $0.database.name == inUse }?.error?.hasPrefix("in use") == true)
        #expect(try await neon.branches().compactMap { $0["name"] as? String }.sorted() == (notOurs + ["main", inUse]).sorted())
        withExtendedLifetime(held) {}
    }

    @Test func aScratchClusterIsLeftAloneWhileItsRunHoldsItsLockWhateverTheFleet() async throws {
        let root = try scratchDirectory("scratch-lock")
        let slug = "a-very-long-venue-slug-for-the-airport-terminal-b"
        var venue = Venue(slug: slug, database: "gwi_pos_x", url: "host=/nowhere dbname=gwi_pos_x", backup: BackupPolicy(directory: root + "/backups"))
        venue.pitr = .pgbackrest(PgBackRestSettings(stanza: "venues", scratchDirectory: root))
        let name = ScratchCluster.name(for: slug, at: Date().addingTimeInterval(-3600))
        try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
        var stranger = venue
        stranger.slug = "zeta"
        let leftovers = ScratchLeftovers(fleet: Fleet(path: root + "/fleet.yaml", venues: [venue], reportsDirectory: root + "/reports"))
        let other = ScratchLeftovers(fleet: Fleet(path: root + "/other.yaml", venues: [stranger], reportsDirectory: root + "/other-reports"))
        #expect(leftovers.found().map(\.path) == [root + "/" + name], "a slug cut to 40 characters is still its venue's")
        #expect(other.found().isEmpty, "another fleet's scratch cluster is not listed")
        let held = try ScratchLock(name)
        #expect(await leftovers.remove(root + "/" + name)?.hasPrefix("in use") == true)
        #expect(FileManager.default.fileExists(atPath: root + "/" + name))
        withExtendedLifetime(held) {}
    }
}

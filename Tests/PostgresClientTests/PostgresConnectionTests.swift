import Foundation
import PostgresClient
import Testing
import TestSupport

@Suite struct PostgresConnectionTests {
    let cluster = TestCluster.shared

    func connect(_ database: String = "postgres") async throws -> PostgresConnection {
        try await PostgresConnection.connect(ConnectionInfo(parsing: cluster.url(database: database)))
    }

    @Test func parametersTravelAsValuesNotSQL() async throws {
        let connection = try await connect()
        let result = try await connection.query("SELECT $1::text AS a, $2::int + 1 AS b, $3::text IS NULL AS c",
                                                ["it's \"quoted\"; DROP TABLE x", "41", nil])
        #expect(result.columns == ["a", "b", "c"])
        #expect(result.rows == [["it's \"quoted\"; DROP TABLE x", "42", "t"]])
    }

    @Test func quotedIdentifiersReachHostileTableNames() async throws {
        try await cluster.createDatabase("pc_quoting")
        let connection = try await connect("pc_quoting")
        let table = SQLQuoting.qualified(schema: "public", name: "Audit \"Log\"")
        try await connection.execute("CREATE TABLE \(table) (\(SQLQuoting.identifier("what's")) text)")
        try await connection.execute("INSERT INTO \(table) VALUES (\(SQLQuoting.literal("it's")))")
        let result = try await connection.query("SELECT \(SQLQuoting.identifier("what's")) FROM \(table)")
        #expect(result.rows == [["it's"]])
    }

    @Test func serverErrorsCarrySQLStateAndMessage() async throws {
        let connection = try await connect()
        await #expect {
            try await connection.query("SELECT * FROM no_such_table")
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.sqlState == "42P01" && error.description.contains("no_such_table")
        }
        // The connection stays usable after an error.
        #expect(try await connection.query("SELECT 1").scalar == "1")
    }

    @Test func missingDatabaseIsAConnectionFailureThatIsNotRetried() async throws {
        await #expect {
            try await connect("gwi_pos_does_not_exist")
        } throws: { error in
            guard let error = error as? PostgresError, case .connectionFailed(let message) = error else { return false }
            return message.contains("does not exist") && !error.isTransient
        }
    }

    @Test func refusedConnectionIsTransient() async throws {
        let info = try ConnectionInfo(parsing: "postgresql://postgres@127.0.0.1:1/postgres")
        await #expect {
            try await PostgresConnection.connect(info)
        } throws: { error in
            (error as? PostgresError)?.isTransient == true
        }
    }

    @Test func cancellingTheTaskCancelsTheRunningStatement() async throws {
        let connection = try await connect()
        let started = ContinuousClock.now
        let task = Task { try await connection.query("SELECT pg_sleep(30)") }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let result = await task.result
        #expect(throws: PostgresError.cancelled) { try result.get() }
        // Not a speed check: a statement that ran out its pg_sleep(30) would take 30 s at least.
        #expect(ContinuousClock.now - started < .seconds(29))
        #expect(try await connection.query("SELECT 2").scalar == "2")
    }

    @Test func waitingConnectionsDoNotHoldTheCooperativePool() async throws {
        // Far more waiting statements than cores (and than cooperative threads): the server must
        // see all of them running at once, which it cannot if each one held a pool thread.
        let count = 12
        let marker = "overlap_\(UInt32.random(in: 0...UInt32.max))"
        let watcher = try await connect()
        let sleepers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<count {
                    group.addTask {
                        let connection = try await connect()
                        _ = try await connection.query("SELECT pg_sleep(4), '\(marker)'")
                    }
                }
                try await group.waitForAll()
            }
        }
        var peak = 0
        for _ in 0..<60 where peak < count {
            let active = try await watcher.query(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1", ["%pg_sleep(4), '\(marker)'%"])
            peak = max(peak, Int(active.scalar ?? "0") ?? 0)
            try await Task.sleep(for: .milliseconds(100))
        }
        try await sleepers.value
        #expect(peak == count)
    }

    @Test func copyOutStreamsCSVInChunks() async throws {
        let connection = try await connect()
        let collected = Collected()
        let bytes = try await connection.copyOut(
            "COPY (SELECT i, 'a,\"b\"' AS t FROM generate_series(1,3) i) TO STDOUT WITH (FORMAT csv, HEADER)"
        ) { chunk in collected.append(Array(chunk)) }
        let text = String(decoding: collected.bytes, as: UTF8.self)
        #expect(text == "i,t\n1,\"a,\"\"b\"\"\"\n2,\"a,\"\"b\"\"\"\n3,\"a,\"\"b\"\"\"\n")
        #expect(bytes == collected.bytes.count)
    }

    @Test func connectionInfoKeepsThePasswordOutOfText() async throws {
        let info = try ConnectionInfo(parsing: "postgresql://ops:s3cret@db.example:6543/gwi_pos_a?sslmode=require")
        #expect(info.password == "s3cret")
        #expect(info.database == "gwi_pos_a")
        #expect(!info.passwordlessConninfo.contains("s3cret"))
        #expect(info.passwordlessConninfo.contains("sslmode=require"))
        #expect(!info.description.contains("s3cret"))
        #expect(info.endpoint == "db.example:6543/gwi_pos_a")
        #expect(ConnectionInfo.redacting("postgresql://ops:s3cret@db/x?password=other&a=b")
                == "postgresql://ops:***@db/x?password=***&a=b")
        #expect(ConnectionInfo.redacting("host=db password='a b' dbname=x") == "host=db password=*** dbname=x")
    }

    @Test func invalidConnectionStringsAreRejectedWithoutThePassword() {
        #expect {
            try ConnectionInfo(parsing: "postgresql://ops:s3cret@db/x?nonsense_option=1")
        } throws: { error in
            let text = String(describing: error)
            return text.contains("nonsense_option") && !text.contains("s3cret")
        }
    }
}

/// Bytes gathered from a sink that runs on another thread.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [UInt8] = []
    func append(_ chunk: [UInt8]) { lock.withLock { storage += chunk } }
    var bytes: [UInt8] { lock.withLock { storage } }
}

@Suite struct RedactionTests {
    @Test func aBadEscapeInThePasswordIsNotEchoedBack() {
        #expect {
            try ConnectionInfo(parsing: "postgresql://ops:s3cr%zzet@db/x")
        } throws: { error in
            let text = String(describing: error)
            return !text.contains("s3cr") && !text.contains("%zz") && !text.contains("zzet") && text.contains("***")
        }
    }
}

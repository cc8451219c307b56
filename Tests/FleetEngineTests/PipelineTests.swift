import FleetEngine
import Foundation
import Testing
import TestSupport

@Suite struct PipelineTests {
    func file(_ bytes: [UInt8]) throws -> String {
        let path = try scratchDirectory("pipe") + "/input"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func knownVectorsForSHA256AndMD5() async throws {
        let vectors: [(String, String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "d41d8cd98f00b204e9800998ecf8427e"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "900150983cd24fb0d6963f7d28e17f72"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "8215ef0796a20bcaaae116d3876c664a"),
        ]
        for (text, sha256, md5) in vectors {
            let digest = try await DigestTap.file(try file(Array(text.utf8)))
            #expect(digest == DigestTap.Digest(bytes: text.utf8.count, sha256: sha256, md5: md5), "\(text)")
        }
    }

    @Test func tapsBeforeAndAfterAProcessStageSeeTheirOwnBytes() async throws {
        // A million `a`s through gzip: the first tap sees the input, the second what lands on disk.
        let input = try file([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
        let output = try scratchDirectory("pipe") + "/out.gz"
        let descriptor = open(output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(descriptor) }
        let before = DigestTap(), after = DigestTap()
        try await BytePipeline(.file(input), [.tap(before), .process(ChildProcess("gzip", ["-c", "-n"])), .tap(after)],
                               into: .descriptor(descriptor, name: output)).run()
        #expect(before.bytes == 1_000_000)
        #expect(before.sha256 == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        let stored = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(after.bytes == stored.count && stored.count > 0 && stored.count < 10_000)
        #expect(after.digest == (try DigestTap.digest(ofFile: output)))
        let unpacked = try Shell.run("/bin/sh", ["-c", "gzip -dc < '\(output)' | wc -c"])
        #expect(unpacked.trimmingCharacters(in: .whitespacesAndNewlines) == "1000000")
    }

    @Test func theFailingStageIsNamedAndTheUpstreamOneIsNotBlamed() async throws {
        let input = try file([UInt8](repeating: 7, count: 5_000_000))
        let failing = ChildProcess("/bin/sh", ["-c", "head -c 10 >/dev/null; echo 'broken stage' >&2; exit 3"])
        await #expect {
            try await BytePipeline(.file(input), [.process(ChildProcess("cat", [])), .process(failing)],
                                   into: .process(ChildProcess("cat", []))).run()
        } throws: { error in
            "\(error)" == "sh exited with status 3: broken stage"
        }
    }

    @Test func cancellationStopsEveryProcessOfTheChain() async throws {
        let marker = "gwi-pipeline-\(UUID().uuidString.prefix(8))"
        let source = ChildProcess("/bin/sh", ["-c", "sleep 300 # \(marker)"])
        let stage = ChildProcess("/bin/sh", ["-c", "sleep 301 & cat # \(marker)"])
        let task = Task {
            try await BytePipeline(.process(source), [.process(stage)], into: .process(ChildProcess("cat", []))).run()
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while ProcessTable.pids(commandContaining: [marker]).count < 2 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let started = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - started < .seconds(60), "a 300 s chain must stop soon after TERM, not run on")
        #expect(ProcessTable.pids(commandContaining: [marker]).isEmpty)
        #expect(ProcessTable.pids(commandContaining: ["sleep 301"]).isEmpty)
    }
}

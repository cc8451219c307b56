@testable import FleetEngine
import FleetModel
import Foundation
import Synchronization
import Testing
import TestSupport

/// A store that lives in memory: what a new kind of store (S3 directly, Azure) has to write, and
/// nothing more, to be catalogued, copied to and staged from.
final class MemoryStore: BackupStore {
    private let objects = Mutex<[String: Data]>([:])
    var location: String { "memory:" }
    func path(_ slug: String, _ name: String) -> String { "memory:\(slug)/\(name)" }
    func localPath(_ slug: String, _ name: String) -> String? { nil }
    func list(_ slug: String) async throws -> [StoredFile] {
        objects.withLock { objects in
            objects.filter { $0.key.hasPrefix(slug + "/") }.map { StoredFile(name: String($0.key.dropFirst(slug.count + 1)), bytes: $0.value.count, modified: Date()) }
        }
    }
    func read(_ slug: String, _ name: String) async throws -> Data? { objects.withLock { $0[slug + "/" + name] } }
    func write(_ data: Data, _ slug: String, _ name: String) async throws { objects.withLock { $0[slug + "/" + name] = data } }
    func delete(_ slug: String, _ name: String) async throws { _ = objects.withLock { $0.removeValue(forKey: slug + "/" + name) } }
    func download(_ slug: String, _ name: String, to localPath: String) async throws {
        guard let data = try await read(slug, name) else { throw FleetEngineError.refused("no \(name)") }
        try DurableFile.write(data, to: localPath)
    }
    func upload(_ localPath: String, _ slug: String, _ name: String) async throws {
        try await write(try Data(contentsOf: URL(fileURLWithPath: localPath)), slug, name)
    }
}

@Suite struct StoreTests {
    @Test func anyStoreIsCataloguedCopiedToAndStagedFromThroughOneInterface() async throws {
        try await TestCluster.shared.createVenue(database: "gwi_pos_memory")
        let venue = testVenue("memory", directory: try scratchDirectory("memory"))
        let manifest = try await VenueDumper(tools: try await PgTools.locate()).backup(venue)
        let local = LocalDirectoryStore(root: venue.backup.directory)
        let memory = MemoryStore()
        for name in [manifest.file, BackupManifest.name(forDump: manifest.file)] {
            try await StoreCopy.copy(venue.slug, name, from: local, to: memory)
        }
        // The catalog of the new store: the same states and latest restore point as locally.
        let catalog = try await BackupCatalog.snapshot(of: memory, slug: venue.slug)
        let latest = try #require(catalog.entries().latestRestorePoint)
        #expect(latest.path == "memory:memory/" + manifest.file && latest.state == .complete && latest.manifest?.sha256 == manifest.sha256)
        // Staged back for verify or restore: byte for byte the backup that was taken.
        let staged = try await StagedBackups.stage(venue, from: memory, choice: .latest)
        let file = try #require(staged.catalog.entries().latestRestorePoint)
        #expect(!staged.isInPlace && file.path != latest.path)
        #expect(try await DigestTap.file(file.path).sha256 == manifest.sha256)
        // A local store is read in place: nothing is copied.
        let inPlace = try await StagedBackups.stage(venue, from: local, choice: .latest)
        #expect(inPlace.isInPlace && inPlace.catalog.entries().latestRestorePoint?.path == local.path(venue.slug, manifest.file))
    }
}

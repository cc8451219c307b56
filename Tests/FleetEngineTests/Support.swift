import FleetEngine
import FleetModel
import Foundation
import TestSupport

/// A fresh private directory for one test's backups and reports.
func scratchDirectory(_ name: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-engine-\(name)-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A venue on the test cluster (or any URL), backing up below `directory`.
func testVenue(_ slug: String, database: String? = nil, url: String? = nil, directory: String,
               format: BackupFormat = .custom, timeout: Duration = .seconds(120)) -> Venue {
    let database = database ?? "gwi_pos_\(slug)"
    return Venue(slug: slug, database: database, url: url ?? TestCluster.shared.url(database: database),
                 timeout: timeout, backup: BackupPolicy(directory: directory, format: format))
}

/// Files in a directory, hidden ones included, sorted.
func files(in directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
}

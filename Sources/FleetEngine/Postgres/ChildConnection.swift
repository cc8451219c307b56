import Foundation
import PostgresClient

/// What a child (pg_dump, pg_restore, psql) needs to reach a database with no secret in its
/// arguments (`/proc/<pid>/cmdline` is readable by every local user): a conninfo without them, the
/// password in `PGPASSWORD`, and any other secret (`sslpassword`, which libpq reads from no
/// environment variable) in a 0600 service file named by `PGSERVICEFILE`, removed when this goes.
final class ChildConnection: Sendable {
    let conninfo: String
    let environment: [String: String]
    private let serviceDirectory: String?

    static let serviceName = "gwi_fleet_child"

    init(_ info: ConnectionInfo) throws {
        var environment = ["PGAPPNAME": "gwi-fleet"]
        if let password = info.password { environment["PGPASSWORD"] = password }
        var conninfo = info.passwordlessConninfo
        var directory: String?
        if !info.secretOptions.isEmpty {
            guard info["service"] == nil else {
                throw FleetEngineError.refused("`sslpassword` together with `service=` cannot be handed to pg_dump safely; put sslpassword in the service file")
            }
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-fleet-secret-\(UUID().uuidString)").path
            guard mkdir(base, 0o700) == 0 else { throw FleetEngineError.file(path: base, operation: "create directory", errno: errno) }
            directory = base
            let text = "[\(Self.serviceName)]\n" + info.secretOptions.map { "\($0.keyword)=\($0.value)\n" }.joined()
            do {
                try DurableFile.write(Data(text.utf8), to: base + "/pg_service.conf")
            } catch {
                rmdir(base)
                throw error
            }
            environment["PGSERVICEFILE"] = base + "/pg_service.conf"
            conninfo += " service=\(Self.serviceName)"
        }
        self.conninfo = conninfo
        self.environment = environment
        self.serviceDirectory = directory
    }

    deinit {
        guard let serviceDirectory else { return }
        unlink(serviceDirectory + "/pg_service.conf")
        rmdir(serviceDirectory)
    }
}

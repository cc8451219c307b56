import Foundation
import Synchronization

/// A real S3 API on 127.0.0.1: `moto_server` (PyPI `moto[server]`), started once per test process
/// and stopped at exit, with rclone remotes pointed at it through `RCLONE_CONFIG_*` variables.
public final class MotoServer: Sendable {
    public static let shared: MotoServer = {
        do { return try MotoServer() } catch { fatalError("cannot start moto_server: \(error)") }
    }()

    public let port: Int
    private let pid: pid_t

    private init() throws {
        let executable = try Self.find("moto_server")
        var started: (pid_t, Int)?
        for _ in 0..<5 where started == nil {
            let port = FreePort.pick()
            let pid = try BackgroundProcess.spawn(executable, ["-H", "127.0.0.1", "-p", String(port)])
            if BackgroundProcess.waitForPort(port, seconds: 30) { started = (pid, port) } else { kill(pid, SIGKILL) }
        }
        guard let started else { throw Shell.Failure(message: "moto_server did not start") }
        (pid, port) = started
        BackgroundProcess.killAtExit(started.0)
    }

    /// The environment that defines an rclone S3 remote `name` on this server. rclone 1.60's S3
    /// backend fails on a plain-http endpoint when AWS_CA_BUNDLE is set: callers unset it.
    public func rcloneEnvironment(remote name: String) -> [String: String] {
        let prefix = "RCLONE_CONFIG_\(name.uppercased())_"
        return [prefix + "TYPE": "s3", prefix + "PROVIDER": "Other", prefix + "ENDPOINT": "http://127.0.0.1:\(port)",
                prefix + "ACCESS_KEY_ID": "testing", prefix + "SECRET_ACCESS_KEY": "testing-secret", prefix + "REGION": "us-east-1"]
    }

    /// Creates a bucket (through rclone, as an operator would).
    public func makeBucket(_ bucket: String, remote name: String = "offsite") throws {
        var environment = ProcessInfo.processInfo.environment.merging(rcloneEnvironment(remote: name)) { $1 }
        environment["AWS_CA_BUNDLE"] = nil
        try Shell.run(try Self.find("rclone"), ["mkdir", "\(name):\(bucket)"], environment: environment)
    }

    public static func find(_ tool: String) throws -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw Shell.Failure(message: "\(tool) not found on PATH; run scripts/install-deps --tests")
    }
}

/// A server process the tests start and leave running (moto, rclone serve), killed at exit.
public enum BackgroundProcess {
    private static let pids = Mutex<[pid_t]>([])

    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> pid_t {
        try Shell.spawn(executable, arguments, environment: environment)
    }

    public static func killAtExit(_ pid: pid_t) {
        pids.withLock { list in
            if list.isEmpty { atexit { for pid in BackgroundProcess.pids.withLock({ $0 }) { kill(pid, SIGKILL) } } }
            list.append(pid)
        }
    }

    /// Starts a server on a free loopback port (tried on five ports: another process may take
    /// the one picked first), left running until the tests exit; its port.
    public static func serve(_ name: String, seconds: Double = 20, _ command: (Int) -> (String, [String])) throws -> Int {
        for _ in 0..<5 {
            let port = FreePort.pick()
            let (executable, arguments) = command(port)
            let pid = try spawn(executable, arguments)
            if waitForPort(port, seconds: seconds) {
                killAtExit(pid)
                return port
            }
            kill(pid, SIGKILL)
        }
        throw Shell.Failure(message: "\(name) did not start")
    }

    /// True once something accepts connections on 127.0.0.1:`port`.
    public static func waitForPort(_ port: Int, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(descriptor)
            if connected == 0 { return true }
            usleep(100_000)
        }
        return false
    }
}

/// An SFTP server on 127.0.0.1 (`rclone serve sftp` over a temporary directory), for a remote
/// that is not S3.
public final class SFTPServer: Sendable {
    public static let shared: SFTPServer = {
        do { return try SFTPServer() } catch { fatalError("cannot start rclone serve sftp: \(error)") }
    }()

    public let port: Int
    public let directory: String
    private let obscuredPassword: String

    private init() throws {
        let rclone = try MotoServer.find("rclone")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gwi-sftp-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        obscuredPassword = try Shell.run(rclone, ["obscure", "sftp-test-secret"]).trimmingCharacters(in: .whitespacesAndNewlines)
        port = try BackgroundProcess.serve("rclone serve sftp", seconds: 30) { [directory] port in
            (rclone, ["serve", "sftp", directory, "--addr", "127.0.0.1:\(port)", "--user", "gwi", "--pass", "sftp-test-secret"])
        }
    }

    public func rcloneEnvironment(remote name: String) -> [String: String] {
        let prefix = "RCLONE_CONFIG_\(name.uppercased())_"
        return [prefix + "TYPE": "sftp", prefix + "HOST": "127.0.0.1", prefix + "PORT": String(port), prefix + "USER": "gwi",
                prefix + "PASS": obscuredPassword, prefix + "SHELL_TYPE": "none", prefix + "DISABLE_HASHCHECK": "true"]
    }
}

import Foundation

/// The operating-system user that owns the pgBackRest repository and the scratch clusters.
/// PostgreSQL refuses to run as root, and pgBackRest run as root would leave root-owned files in
/// the repository, so when gwi-fleet runs as root every pgbackrest and pg_ctl goes through
/// `runuser` to this user, and the scratch files are handed to it.
struct ClusterOwner: Sendable {
    /// The user switched to; nil when gwi-fleet already runs as the owner.
    let user: String?
    let uid: uid_t
    let gid: gid_t
    private let runuser: String?

    /// As root: `runAs`, else `postgres`. Otherwise the current user, who must be `runAs` if set.
    static func resolve(_ runAs: String?) throws -> ClusterOwner {
        guard getuid() == 0 else {
            let current = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(getuid())"
            if let runAs, runAs != current {
                throw PgBackRestRecoveryError.owner("cannot run pgBackRest as \(runAs): gwi-fleet runs as \(current), not root; run it as \(runAs), or as root")
            }
            return ClusterOwner(user: nil, uid: getuid(), gid: getgid(), runuser: nil)
        }
        let name = runAs ?? "postgres"
        guard let entry = getpwnam(name) else {
            throw PgBackRestRecoveryError.owner("no user \(name) to run pgBackRest and the scratch cluster as; name the owner of the pgBackRest repository")
        }
        guard entry.pointee.pw_uid != 0 else {
            throw PgBackRestRecoveryError.owner("\(name) is root, and PostgreSQL refuses to run as root; name the owner of the pgBackRest repository")
        }
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let runuser else {
            throw PgBackRestRecoveryError.toolMissing(tool: "runuser", hint: "install util-linux")
        }
        return ClusterOwner(user: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid, runuser: runuser)
    }

    /// `program arguments`, run as the owner from `/`: the owner may not be allowed into
    /// gwi-fleet's working directory (`/root`), and pg_ctl will not start without one it can read.
    func process(_ executable: String, _ arguments: [String], grace: Duration = .seconds(5)) -> ChildProcess {
        // An empty environment but PATH and the locale: nothing run here needs the venue's password
        // or any other secret gwi-fleet was given (`password_env`, `identity_env` …), and a scratch
        // postgres outlives a killed gwi-fleet with what it was started with.
        let clean = ["/usr/bin/env", "-i", "-C", "/", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
                     executable] + arguments
        var child = if let user, let runuser {
            ChildProcess(runuser, ["-u", user, "--"] + clean, grace: grace)
        } else {
            ChildProcess(clean[0], Array(clean.dropFirst()), grace: grace)
        }
        child.unsetEnvironment = ChildProcess.secretVariables
        return child
    }

    /// Creates a directory of the owner's, mode 0700; fails if anything is there already.
    func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o700) == 0 else {
            throw PgBackRestRecoveryError.scratch(path: path, operation: "create directory", errno: errno)
        }
        guard chmod(path, 0o700) == 0, chown(path, uid, gid) == 0 else {
            let code = errno
            rmdir(path)
            throw PgBackRestRecoveryError.scratch(path: path, operation: "give \(user ?? "its owner") the directory", errno: code)
        }
    }

    /// Writes a small new file of the owner's, mode 0600.
    func writeFile(_ path: String, _ text: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw PgBackRestRecoveryError.scratch(path: path, operation: "create", errno: errno) }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Foundation.write(descriptor, $0.baseAddress, $0.count) }) == bytes.count,
              fchown(descriptor, uid, gid) == 0 else {
            let code = errno
            unlink(path)
            throw PgBackRestRecoveryError.scratch(path: path, operation: "write", errno: code)
        }
    }
}

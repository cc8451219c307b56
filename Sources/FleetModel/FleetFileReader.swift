import Foundation
import Yams

/// The raw layer: YAML read into entries and `defaults:` of optionals (only what was said), every
/// problem collected with its line; `Resolver` turns them into venues.
struct Reader {
    let environment: [String: String]
    let baseDirectory: String
    var problems: [FleetFileProblem] = []

    static let topKeys = ["version", "defaults", "venues", "reports", "discover", "ignore", "notify", "metrics", "policy"]
    static let policyKeys = ["max_backup_age", "max_verify_age", "require_offsite", "max_archive_lag", "max_restored_copy_age"]
    static let metricsKeys = ["textfile", "pushgateway"]
    static let notifyKeys = ["webhook", "format", "on", "commands"]
    static var settingKeys: [String] { SettingKey.venue.map(\.name) }
    static var defaultsKeys: [String] { settingKeys + ["jobs"] }
    static var venueKeys: [String] { settingKeys + ["slug", "database", "tags", "enabled", "kind"] }
    static let remoteKeys = ["url", "retention"]
    static let encryptKeys = ["recipients", "recipients_file", "identity_file", "identity_env"]
    static let retentionKeys = ["keep_days", "keep_min", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"]
    static let reportsKeys = ["dir", "keep_days"]
    static let discoverKeys = ["registry", "databases", "max_shrink"]
    static let registryKeys = ["url", "query", "password_env"]
    static let databasesKeys = ["url", "include", "exclude", "password_env"]
    /// Keys whose values are connection strings: `${NAME}` goes into them percent-encoded.
    static let urlKeys: Set<String> = ["url", "direct_url", "scratch_url"]

    struct Read {
        var entries: [VenueEntry]
        var defaults: VenueSettings
        var jobs: Int
        var reportsDirectory: String
        var discovery: DiscoverySettings?
        var ignore: [String]
        var notify: [NotifyTarget]
        var metrics: (textfile: String?, pushgateway: String?)
        var policy: HealthPolicy
        var reportsKeepDays: Int
    }

    mutating func notifyTarget(_ node: Node, index: Int) -> NotifyTarget? {
        let key = "notify[\(index + 1)]"
        guard let map = mapping(node, key: key, venue: nil, allowed: Self.notifyKeys) else { return nil }
        guard let urlNode = map["webhook"] else {
            problems.append(FleetFileProblem(key: key + ".webhook", line: line(node), message: "missing: the webhook URL"))
            return nil
        }
        guard let url = string(urlNode.value, key: key + ".webhook", venue: nil) else { return nil }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            problems.append(FleetFileProblem(key: key + ".webhook", line: line(urlNode.value), message: "must be an http(s) URL"))
            return nil
        }
        var target = NotifyTarget(url: url)
        if let node = map["format"], let text = string(node.value, key: key + ".format", venue: nil) {
            if let format = NotifyTarget.Format(rawValue: text) { target.format = format } else {
                problems.append(FleetFileProblem(key: key + ".format", line: line(node.value), message: "bad format `\(text)`; use json, slack or healthchecks"))
            }
        }
        if let node = map["on"], let list = stringList(node.value, key: key + ".on", venue: nil) {
            var triggers: Set<NotifyTarget.Trigger> = []
            for text in list {
                if let trigger = NotifyTarget.Trigger(rawValue: text) { triggers.insert(trigger) } else {
                    problems.append(FleetFileProblem(key: key + ".on", line: line(node.value), message: "bad trigger `\(text)`; use failure, recovery, success or always"))
                }
            }
            target.on = triggers
        }
        if let node = map["commands"] { target.commands = stringList(node.value, key: key + ".commands", venue: nil) }
        return target
    }

    init(environment: [String: String], baseDirectory: String) {
        self.environment = environment
        self.baseDirectory = baseDirectory
    }

    mutating func read(_ yaml: String) -> Read? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            problems.append(Self.problem(from: error))
            return nil
        } catch {
            problems.append(FleetFileProblem(message: "not valid YAML: \(error)"))
            return nil
        }
        guard let root, let top = mapping(root, key: nil, venue: nil, allowed: Self.topKeys) else {
            if root == nil { problems.append(FleetFileProblem(message: "the file is empty; it needs `version: 1` and `venues:`")) }
            return nil
        }

        if let version = top["version"] {
            if int(version.value, key: "version", venue: nil) != 1 && version.value.int != nil {
                problems.append(FleetFileProblem(key: "version", line: line(version.value),
                                                 message: "unsupported version \(version.value.string ?? "?"); this gwi-fleet reads version 1"))
            }
        }

        var defaults = VenueSettings()
        var jobs = Fleet.defaultJobs
        if let node = top["defaults"], let map = mapping(node.value, key: "defaults", venue: nil, allowed: Self.defaultsKeys) {
            defaults = settings(map, prefix: "defaults.", venue: nil)
            if let jobsNode = map["jobs"], let value = int(jobsNode.value, key: "defaults.jobs", venue: nil) {
                if (1...Fleet.maximumJobs).contains(value) { jobs = value } else {
                    problems.append(FleetFileProblem(key: "defaults.jobs", line: line(jobsNode.value),
                                                     message: "must be at least 1 and at most \(Fleet.maximumJobs), got \(value)"))
                }
            }
        }

        var reportsDirectory = FleetFile.defaultReportsDirectory
        var reportsKeepDays = Fleet.defaultReportsKeepDays
        if let node = top["reports"], let map = mapping(node.value, key: "reports", venue: nil, allowed: Self.reportsKeys) {
            if let dir = map["dir"], let value = string(dir.value, key: "reports.dir", venue: nil) { reportsDirectory = value }
            if let days = map["keep_days"], let value = int(days.value, key: "reports.keep_days", venue: nil) {
                if (1...36_500).contains(value) { reportsKeepDays = value } else {
                    problems.append(FleetFileProblem(key: "reports.keep_days", line: line(days.value), message: "must be between 1 and 36500, got \(value)"))
                }
            }
        }

        let discovery = top["discover"].flatMap { discoverySettings($0.value) }
        var ignore: [String] = []
        if let node = top["ignore"] { ignore = stringList(node.value, key: "ignore", venue: nil) ?? [] }
        var metrics: (String?, String?) = (nil, nil)
        if let node = top["metrics"], let map = mapping(node.value, key: "metrics", venue: nil, allowed: Self.metricsKeys) {
            metrics.0 = map["textfile"].flatMap { string($0.value, key: "metrics.textfile", venue: nil) }.map { Resolver(baseDirectory: baseDirectory).absolute($0) }
            if let gateway = map["pushgateway"], let url = string(gateway.value, key: "metrics.pushgateway", venue: nil) {
                if url.hasPrefix("http://") || url.hasPrefix("https://") { metrics.1 = url.hasSuffix("/") ? String(url.dropLast()) : url } else {
                    problems.append(FleetFileProblem(key: "metrics.pushgateway", line: line(gateway.value), message: "must be an http(s) URL"))
                }
            }
        }
        var policy = HealthPolicy()
        if let node = top["policy"], let map = mapping(node.value, key: "policy", venue: nil, allowed: Self.policyKeys) {
            if let node = map["max_backup_age"], let value = duration(node.value, key: "policy.max_backup_age", venue: nil, example: "26h") { policy.maxBackupAge = value }
            if let node = map["max_verify_age"], let value = duration(node.value, key: "policy.max_verify_age", venue: nil, example: "8d") { policy.maxVerifyAge = value }
            if let node = map["max_archive_lag"], let value = duration(node.value, key: "policy.max_archive_lag", venue: nil, example: "15m") { policy.maxArchiveLag = value }
            if let node = map["max_restored_copy_age"], let value = duration(node.value, key: "policy.max_restored_copy_age", venue: nil, example: "7d") {
                policy.maxRestoredCopyAge = value
            }
            if let node = map["require_offsite"] {
                if let value = node.value.bool, node.value.scalar != nil { policy.requireOffsite = value } else {
                    problems.append(FleetFileProblem(key: "policy.require_offsite", line: line(node.value), message: "must be true or false"))
                }
            }
        }
        var notify: [NotifyTarget] = []
        if let node = top["notify"] {
            if case .sequence(let list) = node.value {
                for (index, item) in list.enumerated() { if let target = notifyTarget(item, index: index) { notify.append(target) } }
            } else {
                problems.append(FleetFileProblem(key: "notify", line: line(node.value), message: "must be a list of webhooks"))
            }
        }

        var entries: [VenueEntry] = []
        if let venuesNode = top["venues"] {
            if case .sequence(let list) = venuesNode.value {
                if list.isEmpty && discovery == nil {
                    problems.append(FleetFileProblem(key: "venues", line: line(venuesNode.value), message: "the list is empty"))
                }
                for (index, node) in list.enumerated() {
                    if let entry = entry(node, index: index) { entries.append(entry) }
                }
            } else if venuesNode.value.null == nil || discovery == nil {
                problems.append(FleetFileProblem(key: "venues", line: line(venuesNode.value), message: "must be a list of venues"))
            }
        } else if discovery == nil {
            problems.append(FleetFileProblem(key: "venues", message: "missing: list the venue databases under `venues:` (or find them with `discover:`)"))
            return nil
        }
        return Read(entries: entries, defaults: defaults, jobs: jobs, reportsDirectory: Resolver(baseDirectory: baseDirectory).absolute(reportsDirectory),
                    discovery: discovery, ignore: ignore, notify: notify, metrics: metrics, policy: policy, reportsKeepDays: reportsKeepDays)
    }

    mutating func discoverySettings(_ node: Node) -> DiscoverySettings? {
        guard let map = mapping(node, key: "discover", venue: nil, allowed: Self.discoverKeys) else { return nil }
        var result = DiscoverySettings()
        if let node = map["registry"], let registry = mapping(node.value, key: "discover.registry", venue: nil, allowed: Self.registryKeys) {
            if let url = registry["url"].flatMap({ string($0.value, key: "discover.registry.url", venue: nil) }) {
                var settings = DiscoverySettings.Registry(url: url, line: line(node.value))
                if let query = registry["query"].flatMap({ string($0.value, key: "discover.registry.query", venue: nil) }) { settings.query = query }
                settings.passwordEnv = registry["password_env"].flatMap { passwordEnv($0.value, key: "discover.registry.password_env", venue: nil) }
                result.registry = settings
            } else if registry["url"] == nil {
                problems.append(FleetFileProblem(key: "discover.registry.url", line: line(node.value), message: "missing: the master database's URL"))
            }
        }
        if let node = map["databases"], let databases = mapping(node.value, key: "discover.databases", venue: nil, allowed: Self.databasesKeys) {
            if let url = databases["url"].flatMap({ string($0.value, key: "discover.databases.url", venue: nil) }) {
                var settings = DiscoverySettings.ServerDatabases(url: url, line: line(node.value))
                if let include = databases["include"].flatMap({ stringList($0.value, key: "discover.databases.include", venue: nil) }) { settings.include = include }
                if let exclude = databases["exclude"].flatMap({ stringList($0.value, key: "discover.databases.exclude", venue: nil) }) { settings.exclude = exclude }
                settings.passwordEnv = databases["password_env"].flatMap { passwordEnv($0.value, key: "discover.databases.password_env", venue: nil) }
                result.databases = settings
            } else if databases["url"] == nil {
                problems.append(FleetFileProblem(key: "discover.databases.url", line: line(node.value), message: "missing: a database on the server to list"))
            }
        }
        if let node = map["max_shrink"] {
            let text = node.value.scalar?.string.trimmingCharacters(in: .whitespaces) ?? ""
            let number = Double(text.hasSuffix("%") ? String(text.dropLast()).trimmingCharacters(in: .whitespaces) : text)
            if let number, number >= 0, number <= 100 { result.maxShrinkPercent = number } else {
                problems.append(FleetFileProblem(key: "discover.max_shrink", line: line(node.value),
                                                 message: "must be a percentage from 0 to 100, like `10%` (got `\(text)`)"))
            }
        }
        if result.registry == nil && result.databases == nil && map["registry"] == nil && map["databases"] == nil {
            problems.append(FleetFileProblem(key: "discover", line: line(node), message: "give `registry:` or `databases:` (or both)"))
        }
        return result.registry == nil && result.databases == nil ? nil : result
    }

    mutating func entry(_ node: Node, index: Int) -> VenueEntry? {
        // Name the venue by its slug in every problem, when it has a readable one.
        var name = "venues[\(index + 1)]"
        if case .mapping(let raw) = node, let slug = raw["slug"]?.scalar?.string { name = slug }
        guard let map = mapping(node, key: nil, venue: name, allowed: Self.venueKeys) else { return nil }
        guard let slugNode = map["slug"] else {
            problems.append(FleetFileProblem(venue: name, key: "slug", line: line(node), message: "missing: every venue needs a slug"))
            return nil
        }
        guard let slug = string(slugNode.value, key: "slug", venue: name) else { return nil }
        var entry = VenueEntry(slug: slug, settings: settings(map, prefix: "", venue: slug), line: line(node), origin: "fleet file")
        if let node = map["database"] { entry.database = string(node.value, key: "database", venue: slug) }
        if let node = map["tags"] { entry.tags = stringList(node.value, key: "tags", venue: slug) ?? [] }
        if let node = map["enabled"] {
            if let value = node.value.bool, node.value.scalar != nil { entry.enabled = value } else {
                problems.append(FleetFileProblem(venue: slug, key: "enabled", line: line(node.value), message: "must be true or false"))
            }
        }
        if let node = map["kind"], let text = string(node.value, key: "kind", venue: slug) {
            if let kind = VenueKind(rawValue: text) { entry.kind = kind } else {
                problems.append(FleetFileProblem(venue: slug, key: "kind", line: line(node.value), message: "bad kind `\(text)`; use venue or master"))
            }
        }
        return entry
    }

    mutating func passwordEnv(_ node: Node, key: String, venue: String?) -> String? {
        guard let name = environmentName(node, key: key, venue: venue) else { return nil }
        if environment[name] == nil {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "environment variable \(name) is not set"))
            return nil
        }
        return name
    }

    /// The name of an environment variable, which need not be set now.
    mutating func environmentName(_ node: Node, key: String, venue: String?) -> String? {
        guard let name = string(node, key: key, venue: venue) else { return nil }
        if name.range(of: #"^[A-Za-z_][A-Za-z0-9_]*$"#, options: .regularExpression) == nil {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "`\(name)` is not an environment variable name"))
            return nil
        }
        return name
    }

    mutating func duration(_ node: Node, key: String, venue: String?, example: String) -> Duration? {
        guard let text = string(node, key: key, venue: venue) else { return nil }
        guard let duration = FleetDuration.parse(text) else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "bad duration `\(text)` (write e.g. \(example))"))
            return nil
        }
        return duration
    }

    /// The settings of a venue or of `defaults:`, key by key through `SettingKey.venue`.
    mutating func settings(_ map: [String: (key: Node, value: Node)], prefix: String, venue: String?) -> VenueSettings {
        var result = VenueSettings()
        apply(SettingKey.venue, map, prefix: prefix, venue: venue, into: &result)
        return result
    }

    /// Reads every key of `table` that `map` has into `settings`.
    mutating func apply(_ table: [SettingKey], _ map: [String: (key: Node, value: Node)], prefix: String, venue: String?,
                        into settings: inout VenueSettings) {
        for key in table {
            guard let node = map[key.name] else { continue }
            key.read(&self, node.value, prefix + key.name, venue, &settings)
        }
    }

    /// A nested mapping of settings (`backup:`, `verify:`) read through its own table.
    mutating func nested(_ table: [SettingKey], _ node: Node, key: String, venue: String?, into settings: inout VenueSettings) {
        guard let map = mapping(node, key: key, venue: venue, allowed: table.map(\.name)) else { return }
        apply(table, map, prefix: key + ".", venue: venue, into: &settings)
    }

    mutating func timeout(_ node: Node, key: String, venue: String?) -> Duration? {
        guard let value = duration(node, key: key, venue: venue, example: "90s, 30m, 1h30m") else { return nil }
        guard value <= Venue.maximumTimeout else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node),
                                             message: "at most \(FleetDuration.format(Venue.maximumTimeout)), got \(FleetDuration.format(value))"))
            return nil
        }
        return value
    }

    mutating func compression(_ node: Node, key: String, venue: String?) -> BackupCompression? {
        guard let text = string(node, key: key, venue: venue) else { return nil }
        guard let value = BackupCompression.parse(text) else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "bad compression `\(text)`; use zstd[:1-19], gzip[:0-9] or none"))
            return nil
        }
        return value
    }

    mutating func format(_ node: Node, key: String, venue: String?) -> BackupFormat? {
        guard let text = string(node, key: key, venue: venue) else { return nil }
        guard let value = BackupFormat(rawValue: text) else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "bad format `\(text)`; use custom or plain"))
            return nil
        }
        return value
    }

    mutating func encryption(_ node: Node, key: String, venue: String?) -> BackupEncryption? {
        guard let encrypt = mapping(node, key: key, venue: venue, allowed: Self.encryptKeys) else { return nil }
        var value = BackupEncryption()
        if let list = encrypt["recipients"] { value.recipients = stringList(list.value, key: key + ".recipients", venue: venue) ?? [] }
        if let file = encrypt["recipients_file"] {
            value.recipientsFile = string(file.value, key: key + ".recipients_file", venue: venue).map { Resolver(baseDirectory: baseDirectory).absolute($0) }
        }
        if let file = encrypt["identity_file"] {
            value.identityFile = string(file.value, key: key + ".identity_file", venue: venue).map { Resolver(baseDirectory: baseDirectory).absolute($0) }
        }
        // Only the commands that decrypt read it, when they do: `backup` needs no private key.
        if let env = encrypt["identity_env"] { value.identityEnv = environmentName(env.value, key: key + ".identity_env", venue: venue) }
        for recipient in value.recipients where !(recipient.hasPrefix("age1") || recipient.hasPrefix("ssh-")) {
            problems.append(FleetFileProblem(venue: venue, key: key + ".recipients", line: line(node),
                                             message: "`\(recipient)` is not an age recipient (age1… or ssh-…)"))
        }
        guard !value.recipients.isEmpty || value.recipientsFile != nil else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node),
                                             message: "give `recipients` or `recipients_file`: who can decrypt the backups"))
            return nil
        }
        return value
    }

    static let pitrKeys = ["pgbackrest", "neon"]
    static let pgbackrestKeys = ["stanza", "config", "scratch_dir"]
    static let neonKeys = ["project_id", "branch", "api_key_env", "api_url"]

    /// `pitr:` with exactly one provider. The Neon API key's variable need not be set now: it is
    /// read when a restore uses it, and its absence is that venue's error then.
    mutating func pitr(_ node: Node, key: String, venue: String?) -> PITRPolicy? {
        guard let map = mapping(node, key: key, venue: venue, allowed: Self.pitrKeys) else { return nil }
        guard map.count == 1, let (name, entry) = map.first else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node),
                                             message: "give exactly one provider: `pgbackrest:` or `neon:`"))
            return nil
        }
        let path = key + "." + name
        guard let settings = mapping(entry.value, key: path, venue: venue, allowed: name == "neon" ? Self.neonKeys : Self.pgbackrestKeys) else { return nil }
        func required(_ field: String, example: String) -> String? {
            guard let node = settings[field] else {
                problems.append(FleetFileProblem(venue: venue, key: path + "." + field, line: line(entry.value), message: "missing: \(example)"))
                return nil
            }
            return string(node.value, key: path + "." + field, venue: venue)
        }
        let absolute = { (text: String) in Resolver(baseDirectory: self.baseDirectory).absolute(text) }
        if name == "pgbackrest" {
            guard let stanza = required("stanza", example: "the pgBackRest stanza of the venue's server, e.g. venues") else { return nil }
            return .pgbackrest(PgBackRestSettings(
                stanza: stanza, config: settings["config"].flatMap { string($0.value, key: path + ".config", venue: venue) }.map(absolute),
                scratchDirectory: settings["scratch_dir"].flatMap { string($0.value, key: path + ".scratch_dir", venue: venue) }.map(absolute)))
        }
        return neon(settings, key: path, node: entry.value, venue: venue).map(PITRPolicy.neon)
    }

    /// `verify.scratch`: `{neon: {…}}`, a Neon branch per verify run for the scratch databases.
    mutating func scratch(_ node: Node, key: String, venue: String?) -> NeonSettings? {
        let known = problems.count
        guard let map = mapping(node, key: key, venue: venue, allowed: ["neon"]) else { return nil }
        guard let entry = map["neon"] else {
            // An unknown key in its place is problem enough.
            if problems.count == known { problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "give `neon:` (project_id, api_key_env, …)")) }
            return nil
        }
        guard let settings = mapping(entry.value, key: key + ".neon", venue: venue, allowed: Self.neonKeys) else { return nil }
        return neon(settings, key: key + ".neon", node: entry.value, venue: venue)
    }

    /// The keys of a `neon:` mapping (`pitr.neon`, `verify.scratch.neon`).
    mutating func neon(_ settings: [String: (key: Node, value: Node)], key path: String, node: Node, venue: String?) -> NeonSettings? {
        func required(_ field: String, example: String) -> String? {
            guard let found = settings[field] else {
                problems.append(FleetFileProblem(venue: venue, key: path + "." + field, line: line(node), message: "missing: \(example)"))
                return nil
            }
            return string(found.value, key: path + "." + field, venue: venue)
        }
        // Every problem of the mapping at once.
        let known = problems.count
        let project = required("project_id", example: "the Neon project, e.g. round-forest-123456")
        let keyEnv = required("api_key_env", example: "the environment variable holding the Neon API key")
        func problem(_ field: String, _ at: Node, _ message: String) {
            problems.append(FleetFileProblem(venue: venue, key: path + "." + field, line: line(at), message: message))
        }
        if let project, project.range(of: #"^[A-Za-z0-9][A-Za-z0-9_-]*$"#, options: .regularExpression) == nil {
            problem("project_id", settings["project_id"]!.value, "`\(project)` is not a Neon project id (letters, digits and -, e.g. round-forest-123456)")
        }
        if let keyEnv, keyEnv.range(of: #"^[A-Za-z_][A-Za-z0-9_]*$"#, options: .regularExpression) == nil {
            problem("api_key_env", settings["api_key_env"]!.value, "`\(keyEnv)` is not an environment variable name")
        }
        let branch = settings["branch"].flatMap { string($0.value, key: path + ".branch", venue: venue) }
        if let branch, branch.isEmpty || branch.contains("/") || branch.contains("?") {
            problem("branch", settings["branch"]!.value, "`\(branch)` is not a branch name or id")
        }
        var apiURL = NeonSettings.defaultAPIURL
        if let node = settings["api_url"], let url = string(node.value, key: path + ".api_url", venue: venue) {
            if let reason = Self.apiURLProblem(url) { problem("api_url", node.value, reason) }
            apiURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        guard problems.count == known, let project, let keyEnv else { return nil }
        var neon = NeonSettings(projectID: project, apiKeyEnv: keyEnv, apiURL: apiURL)
        neon.branch = branch
        return neon
    }

    /// Why `api_url` cannot carry the API key, or nil: an http(s) URL with a host, no
    /// credentials in it (the key comes from `api_key_env`), and plain http only to this host.
    static func apiURLProblem(_ url: String) -> String? {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = parts.host, !host.isEmpty else { return "must be an http(s) URL with a host, e.g. \(NeonSettings.defaultAPIURL)" }
        if parts.user != nil || parts.password != nil {
            return "must not hold credentials (they would be shown and sent around); the key comes from api_key_env"
        }
        if scheme == "http" && !["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased()) {
            return "must be https (plain http would send the API key in clear text), except to this host"
        }
        if parts.query != nil || parts.fragment != nil { return "must not have a query or fragment" }
        return nil
    }

    mutating func remote(_ node: Node, key: String, venue: String?) -> RemotePolicy? {
        guard let remote = mapping(node, key: key, venue: venue, allowed: Self.remoteKeys) else { return nil }
        // The retention's problems are listed whatever the URL's are: every problem at once.
        var retention: RetentionPolicy?
        if let node = remote["retention"], let map = mapping(node.value, key: key + ".retention", venue: venue, allowed: Self.retentionKeys) {
            let read = self.retention(map, key: key + ".retention", venue: venue)
            retention = RetentionPolicy(keepDays: read.keepDays ?? RetentionPolicy.defaultKeepDays, keepMin: read.keepMin ?? RetentionPolicy.defaultKeepMin,
                                        calendar: read.calendar)
        }
        guard let urlNode = remote["url"] else {
            problems.append(FleetFileProblem(venue: venue, key: key + ".url", line: line(node), message: "missing: the rclone remote, e.g. offsite:gwi-pos-backups/fleet"))
            return nil
        }
        guard let url = string(urlNode.value, key: key + ".url", venue: venue) else { return nil }
        // A configured remote (`offsite:path`) or rclone's on-the-fly backend syntax
        // (`:s3,provider=AWS:bucket/path`, `:local:/srv/copies`).
        guard url.range(of: #"^[A-Za-z0-9_\-. ]+:"#, options: .regularExpression) != nil
                || url.range(of: #"^:[a-z0-9]+(,[^:]*)?:"#, options: .regularExpression) != nil else {
            problems.append(FleetFileProblem(venue: venue, key: key + ".url", line: line(urlNode.value),
                                             message: "`\(url)` is not an rclone remote (write REMOTE:path, e.g. offsite:gwi-pos-backups/fleet, or :backend:path)"))
            return nil
        }
        return RemotePolicy(url: url.hasSuffix("/") ? String(url.dropLast()) : url, retention: retention)
    }

    /// `keep_days` (0 to 100000) and `keep_min` (1 to 100000), local or remote alike: a value out of
    /// range is a problem, never clamped.
    mutating func retention(_ map: [String: (key: Node, value: Node)], key: String, venue: String?)
        -> (keepDays: Int?, keepMin: Int?, calendar: RetentionPolicy.Calendar) {
        var result: (keepDays: Int?, keepMin: Int?, calendar: RetentionPolicy.Calendar) = (nil, nil, RetentionPolicy.Calendar())
        for (name, minimum) in [("keep_days", 0), ("keep_min", 1), ("keep_daily", 0), ("keep_weekly", 0), ("keep_monthly", 0), ("keep_yearly", 0)] {
            guard let node = map[name], let value = int(node.value, key: key + "." + name, venue: venue) else { continue }
            if value < minimum || value > 100_000 {
                problems.append(FleetFileProblem(venue: venue, key: key + "." + name, line: line(node.value),
                                                 message: "must be at least \(minimum) and at most 100000, got \(value)"))
                continue
            }
            switch name {
            case "keep_days": result.keepDays = value
            case "keep_min": result.keepMin = value
            case "keep_daily": result.calendar.daily = value
            case "keep_weekly": result.calendar.weekly = value
            case "keep_monthly": result.calendar.monthly = value
            default: result.calendar.yearly = value
            }
        }
        return result
    }

    // MARK: - Typed reads that record a problem instead of failing

    mutating func mapping(_ node: Node, key: String?, venue: String?, allowed: [String]) -> [String: (key: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "must be a mapping of keys to values"))
            return nil
        }
        var result: [String: (key: Node, value: Node)] = [:]
        for (keyNode, value) in mapping {
            let name = keyNode.string ?? "?"
            let path = key.map { "\($0).\(name)" } ?? name
            guard allowed.contains(name) else {
                let hint = Self.closest(to: name, in: allowed).map { " (did you mean `\($0)`?)" } ?? ""
                problems.append(FleetFileProblem(venue: venue, key: path, line: line(keyNode),
                                                 message: "unknown key\(hint); allowed here: \(allowed.joined(separator: ", "))"))
                continue
            }
            result[name] = (keyNode, value)
        }
        return result
    }

    mutating func string(_ node: Node, key: String, venue: String?) -> String? {
        guard case .scalar(let scalar) = node else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "must be a single value"))
            return nil
        }
        let isURL = Self.urlKeys.contains(String(key.split(separator: ".").last ?? ""))
        return substitute(scalar.string, key: key, venue: venue, line: line(node), encode: isURL && Self.isURI(scalar.string))
    }

    static func isURI(_ text: String) -> Bool { text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") }

    mutating func int(_ node: Node, key: String, venue: String?) -> Int? {
        guard node.scalar != nil, let value = node.int else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "must be a whole number"))
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node, key: String, venue: String?) -> Bool? {
        guard node.scalar != nil, let value = node.bool else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "must be true or false"))
            return nil
        }
        return value
    }

    mutating func stringList(_ node: Node, key: String, venue: String?) -> [String]? {
        guard case .sequence(let sequence) = node else {
            problems.append(FleetFileProblem(venue: venue, key: key, line: line(node), message: "must be a list, e.g. [west, 24h]"))
            return nil
        }
        return sequence.compactMap { string($0, key: key, venue: venue) }
    }

    /// Replaces `${NAME}` with the environment's value (percent-encoded in a URI, so a password
    /// with `@` or `/` stays a password); an undefined name is a problem.
    mutating func substitute(_ text: String, key: String, venue: String?, line: Int?, encode: Bool = false) -> String? {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        var ok = true
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                problems.append(FleetFileProblem(venue: venue, key: key, line: line, message: "unterminated `${` in value"))
                return nil
            }
            let name = String(rest[start.upperBound..<end])
            if let value = environment[name] {
                result += encode ? ConnectionText.percentEncoded(value) : value
            } else {
                problems.append(FleetFileProblem(venue: venue, key: key, line: line,
                                                 message: "environment variable \(name) is not set (used as ${\(name)})"))
                ok = false
            }
            rest = rest[rest.index(after: end)...]
        }
        result += rest
        return ok ? result : nil
    }

    func line(_ node: Node) -> Int? { node.mark?.line }

    static func closest(to word: String, in candidates: [String]) -> String? {
        candidates.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    static func problem(from error: YamlError) -> FleetFileProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return FleetFileProblem(line: mark.line, message: "not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, _):
            return FleetFileProblem(message: "a key is written twice in one mapping: \(duplicates.joined(separator: ", "))")
        default:
            return FleetFileProblem(message: "not valid YAML: \(error)")
        }
    }
}

/// One key of a venue's settings (on the venue or in `defaults:`): how its value is read into
/// `VenueSettings`, and how a venue inherits what it fills from `defaults:` where it says nothing.
/// The tables below are the whole list of allowed keys: a new setting is one line in one of them
/// plus its field in `VenueSettings`.
struct SettingKey {
    let name: String
    let read: (inout Reader, Node, _ key: String, _ venue: String?, inout VenueSettings) -> Void
    /// Fills the fields this key sets from `base` where `settings` has none (nested keys: theirs).
    let inherit: (inout VenueSettings, VenueSettings) -> Void

    /// A key read into one field.
    static func field<T>(_ name: String, _ path: WritableKeyPath<VenueSettings, T?>,
                         _ read: @escaping (inout Reader, Node, String, String?) -> T?) -> SettingKey {
        SettingKey(name: name, read: { reader, node, key, venue, settings in
            if let value = read(&reader, node, key, venue) { settings[keyPath: path] = value }
        }, inherit: { settings, base in
            if settings[keyPath: path] == nil { settings[keyPath: path] = base[keyPath: path] }
        })
    }

    /// A mapping of keys of its own (`backup:`, `verify:`).
    static func mapping(_ name: String, _ table: [SettingKey]) -> SettingKey {
        SettingKey(name: name, read: { reader, node, key, venue, settings in
            reader.nested(table, node, key: key, venue: venue, into: &settings)
        }, inherit: { settings, base in
            for key in table { key.inherit(&settings, base) }
        })
    }

    static var venue: [SettingKey] { [
        SettingKey(name: "url", read: { reader, node, key, venue, settings in
            settings.urlWritten = true
            settings.url = reader.string(node, key: key, venue: venue)
        }, inherit: { settings, base in
            if settings.url == nil { settings.url = base.url }
            settings.urlWritten = settings.urlWritten || base.urlWritten
        }),
        .field("direct_url", \.directURL) { $0.string($1, key: $2, venue: $3) },
        .field("password_env", \.passwordEnv) { $0.passwordEnv($1, key: $2, venue: $3) },
        .field("timeout", \.timeout) { $0.timeout($1, key: $2, venue: $3) },
        .mapping("backup", backup),
        .mapping("verify", verify),
        .field("pitr", \.pitr) { $0.pitr($1, key: $2, venue: $3) },
    ] }

    static var backup: [SettingKey] { [
        .field("dir", \.backupDirectory) { $0.string($1, key: $2, venue: $3) },
        .field("format", \.backupFormat) { $0.format($1, key: $2, venue: $3) },
        SettingKey(name: "retention", read: { reader, node, key, venue, settings in
            guard let map = reader.mapping(node, key: key, venue: venue, allowed: Reader.retentionKeys) else { return }
            let read = reader.retention(map, key: key, venue: venue)
            if let days = read.keepDays { settings.keepDays = days }
            if let minimum = read.keepMin { settings.keepMin = minimum }
            settings.keepCalendar = read.calendar
        }, inherit: { settings, base in
            if settings.keepDays == nil { settings.keepDays = base.keepDays }
            if settings.keepMin == nil { settings.keepMin = base.keepMin }
            settings.keepCalendar = settings.keepCalendar.over(base.keepCalendar)
        }),
        .field("max_age", \.maxAge) { $0.duration($1, key: $2, venue: $3, example: "26h, 2d") },
        .field("compression", \.compression) { $0.compression($1, key: $2, venue: $3) },
        .field("encrypt", \.encryption) { $0.encryption($1, key: $2, venue: $3) },
        .field("remote", \.remote) { $0.remote($1, key: $2, venue: $3) },
    ] }

    static var verify: [SettingKey] { [
        .field("scratch_url", \.scratchURL) { $0.string($1, key: $2, venue: $3) },
        .field("tables", \.verifyTables) { $0.stringList($1, key: $2, venue: $3) },
        .field("scratch", \.scratchNeon) { $0.scratch($1, key: $2, venue: $3) },
        .field("no_owner", \.verifyNoOwner) { $0.bool($1, key: $2, venue: $3) },
    ] }
}

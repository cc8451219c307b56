import FleetModel
import Foundation
import Testing

/// Loads a fixture from the test bundle.
func fixture(_ name: String) -> String {
    Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "yaml")!.path
}

/// The problems of an invalid fixture (fails the test when the file is valid).
func problems(_ name: String, environment: [String: String] = [:]) -> [FleetFileProblem] {
    do {
        _ = try FleetFile.load(path: fixture(name), environment: environment)
        Issue.record("\(name) was accepted")
        return []
    } catch {
        if case .unreadable = error { Issue.record("\(error)") }
        return error.problems
    }
}

@Suite struct FleetFileTests {
    @Test func validFileResolvesVenueOverDefaultsOverBuiltIns() async throws {
        let fleet = try FleetFile.load(path: fixture("valid"), environment: ["HARBOR_PW": "hunter2"])
        #expect(fleet.jobs == 6)
        #expect(fleet.reportsDirectory == "/var/tmp/gwi-reports")
        #expect(fleet.venues.map(\.slug) == ["downtown", "airport", "harbor", "old_mill"])
        let fixtures = URL(fileURLWithPath: fixture("valid")).deletingLastPathComponent().path

        let downtown = fleet.venues[0]
        #expect(downtown.database == "gwi_pos_downtown")
        #expect(downtown.url == "postgresql://ops@db.example.internal:5432/gwi_pos_downtown?sslmode=require")
        #expect(downtown.directURL == "postgresql://ops@db-direct.example.internal:5432/gwi_pos_downtown")
        #expect(downtown.timeout == .seconds(45 * 60))
        #expect(downtown.backup == BackupPolicy(directory: fixtures + "/nightly", format: .plain))
        #expect(downtown.enabled)
        #expect(downtown.line == 13)

        let airport = fleet.venues[1]
        #expect(airport.tags == ["west", "24h"])
        #expect(airport.timeout == .seconds(90))
        #expect(airport.backup.format == .custom)

        let harbor = fleet.venues[2]
        #expect(harbor.database == "harbor_harbor_db")
        #expect(harbor.url == "postgresql://ops:hunter2@other-host:5432/harbor_harbor_db")
        // A venue's own url does not change the direct url it inherits.
        #expect(harbor.directURL == "postgresql://ops@db-direct.example.internal:5432/harbor_harbor_db")

        #expect(fleet.venues[3].enabled == false)
    }

    @Test func unknownKeysAreNamedWithLineAndSuggestion() {
        let found = problems("unknown-keys")
        #expect(found.count == 3)
        #expect(found.contains { $0.key == "defaults.timout" && $0.line == 4 && $0.message.contains("did you mean `timeout`") })
        #expect(found.contains { $0.key == "defaults.backup.dri" && $0.line == 6 && $0.message.contains("`dir`") })
        #expect(found.contains { $0.key == "tag" && $0.venue == "downtown" && $0.line == 9 && $0.message.contains("`tags`") })
    }

    @Test func venueWithoutAnyURLIsRejected() {
        let found = problems("missing-url")
        #expect(found.count == 1)
        #expect(found.first?.venue == "downtown")
        #expect(found.first?.key == "url")
        #expect(found.first?.line == 5)
    }

    @Test func duplicateSlugNamesBothLines() {
        let found = problems("duplicate-slugs")
        #expect(found.count == 1)
        #expect(found.first?.venue == "downtown")
        #expect(found.first?.line == 7)
        #expect(found.first?.message.contains("line 5") == true)
    }

    @Test func badSlugsAndBadDatabaseNamesAreRejected() {
        let found = problems("bad-slugs")
        #expect(found.filter { $0.message.contains("^[a-z0-9]+([-_][a-z0-9]+)*$") }.map(\.venue) == ["Downtown", "_hidden", "air--port", "-edge"])
        #expect(found.contains { $0.line == 8 && $0.message.contains("63") && $0.message.contains("bytes") })
        #expect(found.contains { $0.venue == "escape" && $0.key == "database" && $0.message.contains("`/`") })
        #expect(found.count == 6)
    }

    func parse(_ yaml: String, environment: [String: String] = [:]) throws(FleetFileError) -> Fleet {
        try FleetFile.parse(yaml: yaml, path: "/srv/ops/fleet.yaml", environment: environment)
    }

    /// The problems of an invalid file, as `key: message` (empty when it is valid).
    func problemsOf(_ yaml: String) -> [String] {
        do { _ = try parse(yaml); return [] } catch { return error.problems.map { "\($0.key ?? ""): \($0.message)" } }
    }

    @Test func policyMaxBackupAgeIsTheDefaultOfBackupMaxAgeAndKeepDaysIsRead() throws {
        let fleet = try parse("""
            version: 1
            defaults:
              url: postgresql://ops@db/{database}
            policy:
              max_backup_age: 2h
            reports:
              keep_days: 14
            venues:
              - slug: plain
              - slug: own
                backup: {max_age: 5h}
            """)
        #expect(fleet.venues.map(\.maxBackupAge) == [.seconds(2 * 3600), .seconds(5 * 3600)])
        #expect(fleet.reportsKeepDays == 14)
        let unset = try parse("version: 1\ndefaults:\n  url: postgresql://ops@db/{database}\nvenues:\n  - slug: a\n")
        #expect(unset.venues[0].maxBackupAge == .seconds(26 * 3600) && unset.reportsKeepDays == 90)
    }

    @Test func hyphenatedSlugsNameUnderscoredDatabasesAndBothFormsFillTemplates() throws {
        let fleet = try parse("""
            version: 1
            defaults:
              url: postgresql://ops@db/{database}?application_name={slug}
            venues:
              - slug: joes-bar
              - slug: old_mill
              - slug: x-1
                database: pos_{slug_}_{slug}
            """)
        #expect(fleet.venues.map(\.database) == ["gwi_pos_joes_bar", "gwi_pos_old_mill", "pos_x_1_x-1"])
        #expect(fleet.venues[0].url == "postgresql://ops@db/gwi_pos_joes_bar?application_name=joes-bar")
        #expect(FleetFile.isValidSlug(String(repeating: "a", count: 50)) && !FleetFile.isValidSlug(String(repeating: "a", count: 51)))
        for bad in ["Joes-bar", "joes--bar", "-joes", "joes-", "joes bar", "joes.bar", ""] { #expect(!FleetFile.isValidSlug(bad), "\(bad)") }
    }

    @Test func environmentValuesArePercentEncodedIntoURLs() throws {
        let fleet = try parse("""
            version: 1
            defaults:
              url: postgresql://ops:${PW}@db/{database}
              direct_url: host=db dbname={database} user=ops
            venues:
              - slug: a
              - slug: b
                database: "b b'c"
            """, environment: ["PW": "Sec@127.0.0.1/x"])
        #expect(fleet.venues[0].url == "postgresql://ops:Sec%40127.0.0.1%2Fx@db/gwi_pos_a")
        #expect(fleet.venues[1].url == "postgresql://ops:Sec%40127.0.0.1%2Fx@db/b%20b%27c")
        #expect(fleet.venues[1].directURL == "host=db dbname='b b\\'c' user=ops")
    }

    @Test func numbersAreBoundedAtValidation() {
        #expect { try parse("version: 1\ndefaults: {url: 'postgresql://x/{database}', jobs: 9223372036854775807, timeout: 30d}\nvenues: [{slug: a}]\n") } throws: { error in
            let problems = (error as? FleetFileError)?.problems ?? []
            return problems.contains { $0.key == "defaults.jobs" && $0.message.contains("at most 1024") }
                && problems.contains { $0.key == "defaults.timeout" && $0.message.contains("at most 7d") }
        }
        #expect(FleetDuration.parse("9223372036854775807d") == nil)
        #expect(FleetDuration.parse(String(repeating: "999999999999d", count: 3000)) == nil, "no overflow trap on many large terms")
    }

    @Test func everySettingIsInheritedKeyByKeyFromDefaults() throws {
        let fleet = try parse("""
            version: 1
            defaults:
              url: postgresql://x/{database}
              timeout: 10m
              backup:
                dir: /b
                format: plain
                max_age: 2d
                compression: gzip:5
                retention: {keep_days: 9, keep_min: 4}
                remote: {url: "offsite:b/fleet"}
              verify: {tables: [Order], scratch_url: "postgresql://scratch/postgres"}
            venues:
              - slug: a
              - slug: b
                backup: {format: custom, retention: {keep_min: 2}}
                verify: {tables: [MenuItem]}
            """)
        let (a, b) = (fleet.venues[0], fleet.venues[1])
        #expect(a.timeout == .seconds(600) && a.maxBackupAge == .seconds(2 * 86_400) && a.scratchURL == "postgresql://scratch/postgres")
        #expect(a.backup == BackupPolicy(directory: "/b", format: .plain, retention: RetentionPolicy(keepDays: 9, keepMin: 4),
                                         compression: BackupCompression.parse("gzip:5")!, remote: RemotePolicy(url: "offsite:b/fleet")))
        #expect(a.verifyTables == ["Order"])
        // b says two nested keys and one of retention's: only those change.
        #expect(b.backup == BackupPolicy(directory: "/b", format: .custom, retention: RetentionPolicy(keepDays: 9, keepMin: 2),
                                         compression: BackupCompression.parse("gzip:5")!, remote: RemotePolicy(url: "offsite:b/fleet")))
        #expect(b.verifyTables == ["MenuItem"] && b.scratchURL == "postgresql://scratch/postgres")
    }

    // Issue 22.8: rclone's `:backend:` syntax is a remote too.
    @Test func rclonesOnTheFlyBackendSyntaxIsAcceptedAsARemote() throws {
        func remote(_ url: String) -> [String] {
            problemsOf("version: 1\ndefaults:\n  url: postgresql://x/{database}\n  backup:\n    remote: {url: '\(url)'}\nvenues:\n  - slug: a\n")
        }
        #expect(remote(#":s3,provider=Minio,endpoint="http://127.0.0.1:9000":bucket/fleet"#).isEmpty)
        #expect(remote(":local:/srv/copies").isEmpty)
        #expect(remote("offsite:b/fleet").isEmpty)
        #expect(remote("/srv/copies").first?.contains("is not an rclone remote") == true)
        #expect(remote(":S3:bucket").first?.contains("is not an rclone remote") == true)
    }

    // Issue 22.2: calendar rules, inherited rule by rule, local and remote, ranges checked.
    @Test func calendarRetentionRulesAreInheritedRuleByRuleAndChecked() throws {
        let fleet = try parse("""
            version: 1
            defaults:
              url: postgresql://x/{database}
              backup:
                retention: {keep_days: 0, keep_daily: 7, keep_weekly: 4}
                remote: {url: "offsite:b/fleet", retention: {keep_monthly: 12, keep_yearly: 3}}
            venues:
              - slug: a
              - slug: b
                backup: {retention: {keep_weekly: 8, keep_monthly: 6}}
            """)
        let (a, b) = (fleet.venues[0], fleet.venues[1])
        #expect(a.backup.retention == RetentionPolicy(keepDays: 0, keepMin: 3, calendar: .init(daily: 7, weekly: 4)))
        #expect(b.backup.retention == RetentionPolicy(keepDays: 0, keepMin: 3, calendar: .init(daily: 7, weekly: 8, monthly: 6)))
        #expect(a.backup.remote?.retention == RetentionPolicy(keepDays: 30, keepMin: 3, calendar: .init(monthly: 12, yearly: 3)))
        let problems = problemsOf("""
            version: 1
            defaults:
              url: postgresql://x/{database}
              backup:
                retention: {keep_daily: -1, keep_hourly: 3}
            venues:
              - slug: a
            """)
        #expect(problems.contains("defaults.backup.retention.keep_daily: must be at least 0 and at most 100000, got -1"), "\(problems)")
        #expect(problems.contains { $0.contains("keep_hourly") }, "\(problems)")
    }

    @Test func pitrTakesExactlyOneProviderAndNamesWhatIsMissing() throws {
        let fleet = try parse("""
            version: 1
            defaults:
              url: postgresql://x/{database}
              pitr:
                pgbackrest: {stanza: venues, config: /etc/pgbackrest/pgbackrest.conf, scratch_dir: /var/tmp/gwi-fleet-pitr}
            venues:
              - slug: a
              - slug: b
                pitr:
                  neon: {project_id: round-forest-123456, api_key_env: NEON_API_KEY, api_url: "http://127.0.0.1:9/api/v2/"}
            """)
        #expect(fleet.venues[0].pitr == .pgbackrest(PgBackRestSettings(stanza: "venues", config: "/etc/pgbackrest/pgbackrest.conf",
                                                                        scratchDirectory: "/var/tmp/gwi-fleet-pitr")))
        #expect(fleet.venues[1].pitr == .neon(NeonSettings(projectID: "round-forest-123456", apiKeyEnv: "NEON_API_KEY",
                                                           apiURL: "http://127.0.0.1:9/api/v2")), "the key's variable need not be set to validate")
        #expect { try parse("""
            version: 1
            defaults:
              url: postgresql://x/{database}
            venues:
              - slug: a
                pitr: {pgbackrest: {stanza: v}, neon: {project_id: p, api_key_env: K}}
              - slug: b
                pitr: {pgbackrest: {config: /x, stanzas: v}}
              - slug: c
                pitr: {neon: {project_id: p, api_key_env: "not a name"}}
            """) } throws: { error in
            let problems = (error as? FleetFileError)?.problems.map { "\($0.venue ?? ""): \($0.key ?? ""): \($0.message)" } ?? []
            return problems.count == 4
                && problems[0] == "a: pitr: give exactly one provider: `pgbackrest:` or `neon:`"
                && problems[1].hasPrefix("b: pitr.pgbackrest.stanzas: unknown key (did you mean `stanza`?)")
                && problems[2] == "b: pitr.pgbackrest.stanza: missing: the pgBackRest stanza of the venue's server, e.g. venues"
                && problems[3] == "c: pitr.neon.api_key_env: `not a name` is not an environment variable name"
        }
    }

    @Test func neonSettingsListEveryProblemAndNeverTakeCredentialsOrCleartextURLs() throws {
        #expect { try parse("""
            version: 1
            defaults:
              url: postgresql://x/{database}
            venues:
              - slug: a
                pitr: {neon: {branch: main}}
              - slug: b
                pitr: {neon: {project_id: "p/../x", api_key_env: bad-name, api_url: "ftp://x"}}
              - slug: c
                pitr: {neon: {project_id: p, api_key_env: K, api_url: "https://ops:hunter2@console.neon.tech/api/v2"}}
              - slug: d
                pitr: {neon: {project_id: p, api_key_env: K, api_url: "http://neon.example.com/api/v2"}}
              - slug: e
                pitr: {neon: {project_id: p, api_key_env: K, api_url: "http://"}}
            """) } throws: { error in
            let problems = (error as? FleetFileError)?.problems.map { "\($0.venue ?? ""): \($0.key ?? ""): \($0.message)" } ?? []
            return problems.count == 8
                && problems[0].hasPrefix("a: pitr.neon.project_id: missing") && problems[1].hasPrefix("a: pitr.neon.api_key_env: missing")
                && problems[2].hasPrefix("b: pitr.neon.project_id: `p/../x` is not a Neon project id")
                && problems[3] == "b: pitr.neon.api_key_env: `bad-name` is not an environment variable name"
                && problems[4].hasPrefix("b: pitr.neon.api_url: must be an http(s) URL with a host")
                && problems[5].hasPrefix("c: pitr.neon.api_url: must not hold credentials") && !problems[5].contains("hunter2")
                && problems[6].hasPrefix("d: pitr.neon.api_url: must be https")
                && problems[7].hasPrefix("e: pitr.neon.api_url: must be an http(s) URL with a host")
        }
    }

    @Test func verifyScratchOnNeonIsReadLikePitrNeonAndExcludesScratchURL() throws {
        let fleet = try parse("""
            version: 1
            defaults:
              url: postgresql://x/{database}
              verify:
                scratch:
                  neon: {project_id: round-forest-123456, api_key_env: NEON_API_KEY, branch: main}
            venues:
              - slug: a
            """)
        #expect(fleet.venues[0].scratchNeon == NeonSettings(projectID: "round-forest-123456", branch: "main", apiKeyEnv: "NEON_API_KEY"))
        // A venue's choice overrides the defaults' other one.
        let mixed = try parse("""
            version: 1
            defaults:
              url: postgresql://x/{database}
              verify: {scratch_url: "postgresql://scratch/postgres"}
            venues:
              - slug: a
                verify: {scratch: {neon: {project_id: p, api_key_env: K}}}
              - slug: b
            """)
        #expect(mixed.venues[0].scratchURL == nil && mixed.venues[0].scratchNeon?.projectID == "p")
        #expect(mixed.venues[1].scratchURL == "postgresql://scratch/postgres" && mixed.venues[1].scratchNeon == nil)
        #expect { try parse("""
            version: 1
            defaults:
              url: postgresql://x/{database}
            venues:
              - slug: a
                verify: {scratch_url: "postgresql://y/z", scratch: {neon: {project_id: p, api_key_env: K}}}
              - slug: b
                verify: {scratch: {pgbackrest: {stanza: v}}}
              - slug: c
                verify: {scratch: {neon: {api_key_env: K}}}
            """) } throws: { error in
            let problems = (error as? FleetFileError)?.problems.map { "\($0.venue ?? ""): \($0.key ?? ""): \($0.message)" } ?? []
            return problems.count == 3
                && problems[0] == "a: verify.scratch: give `verify.scratch_url` or `verify.scratch.neon`, not both"
                && problems[1].hasPrefix("b: verify.scratch.pgbackrest: unknown key")
                && problems[2] == "c: verify.scratch.neon.project_id: missing: the Neon project, e.g. round-forest-123456"
        }
    }

    @Test func remoteRetentionOutOfRangeIsAProblemNotClamped() throws {
        let yaml = """
            version: 1
            defaults:
              url: postgresql://x/{database}
              backup:
                retention: {keep_days: 30, keep_min: 0}
                remote:
                  url: offsite:b/fleet
                  retention: {keep_days: -1, keep_min: 0}
            venues: [{slug: a}]
            """
        #expect { try parse(yaml) } throws: { error in
            let problems = (error as? FleetFileError)?.problems.map { "\($0.key ?? ""): \($0.message)" } ?? []
            return problems == ["defaults.backup.retention.keep_min: must be at least 1 and at most 100000, got 0",
                                "defaults.backup.remote.retention.keep_days: must be at least 0 and at most 100000, got -1",
                                "defaults.backup.remote.retention.keep_min: must be at least 1 and at most 100000, got 0"]
        }
        let fleet = try parse(yaml.replacingOccurrences(of: "keep_days: -1, keep_min: 0", with: "keep_days: 90")
                                  .replacingOccurrences(of: "keep_min: 0}", with: "keep_min: 2}"))
        #expect(fleet.venues[0].backup.remote?.retention == RetentionPolicy(keepDays: 90, keepMin: RetentionPolicy.defaultKeepMin))
    }

    @Test func discoveredVenuesInheritDefaultsAndListedEntriesOverrideThem() throws {
        let fleet = try parse("""
            version: 1
            defaults:
              url: postgresql://ops@db/{database}
              timeout: 5m
            discover:
              registry:
                url: postgresql://ops@db/gwi_pos
            venues:
              - slug: joes-bar
                tags: [vip]
                timeout: 1m
              - slug: gwi
                database: gwi_pos
                kind: master
            """)
        #expect(fleet.discovery?.registry?.query == DiscoverySettings.Registry.defaultQuery)
        let found = [VenueEntry(slug: "joes-bar", database: "gwi_pos_joes_bar_v2", origin: "registry"),
                     VenueEntry(slug: "new-place", enabled: false, origin: "registry")]
        let (merged, problems) = fleet.adding(discovered: found)
        #expect(problems.isEmpty)
        #expect(merged.venues.map(\.slug) == ["joes-bar", "gwi", "new-place"])
        let joes = merged.venues[0]
        #expect(joes.database == "gwi_pos_joes_bar_v2" && joes.tags == ["vip", "discovered"] && joes.timeout == .seconds(60))
        #expect(joes.origin == "registry, overridden at line 9")
        #expect(merged.venues[1].kind == .master && merged.venues[1].origin == "fleet file line 12")
        let newPlace = merged.venues[2]
        #expect(newPlace.database == "gwi_pos_new_place" && newPlace.tags == ["discovered"] && !newPlace.enabled)
        #expect(newPlace.timeout == .seconds(300) && newPlace.url == "postgresql://ops@db/gwi_pos_new_place")
    }

    @Test func undefinedEnvironmentVariablesAreRejected() {
        let found = problems("undefined-env")
        #expect(found.contains { $0.key == "defaults.url" && $0.line == 3 && $0.message.contains("GWI_TEST_UNDEFINED_PW") })
        #expect(found.contains { $0.key == "defaults.password_env" && $0.line == 4 && $0.message.contains("GWI_TEST_UNSET_PASSWORD") })
        #expect(found.count == 2)
        // With both set, the same file is valid and the password lands in the resolved URL only.
        let fleet = try? FleetFile.load(path: fixture("undefined-env"),
                                        environment: ["GWI_TEST_UNDEFINED_PW": "pw", "GWI_TEST_UNSET_PASSWORD": "x"])
        #expect(fleet?.venues.first?.url == "postgresql://ops:pw@db/gwi_pos_downtown")
        #expect(fleet?.venues.first?.passwordEnv == "GWI_TEST_UNSET_PASSWORD")
    }

    @Test func badDurationsAndFormatsAreRejected() {
        let found = problems("bad-duration-format")
        #expect(found.map(\.line) == [4, 6, 9, 12])
        #expect(found[0].message.contains("bad duration `30 minutes`"))
        #expect(found[1].message.contains("bad format `tar`"))
        #expect(found[2].venue == "downtown" && found[2].key == "timeout")
        #expect(found[3].venue == "airport" && found[3].key == "backup.format")
    }

    @Test func everyProblemIsListedAtOnceInLineOrder() {
        let found = problems("many-problems")
        let lines = found.compactMap(\.line)
        #expect(lines == lines.sorted())
        let expected: [(Int, String)] = [(4, "at least 1"), (5, "bad duration"), (8, "true or false"),
                                         (9, "[a-z0-9]"), (10, "duplicate"), (11, "needs a slug"), (14, "bad format"),
                                         (15, "unknown key")]
        #expect(found.count == expected.count)
        for (line, text) in expected {
            #expect(found.contains { $0.line == line && $0.message.contains(text) }, "line \(line): \(text)")
        }
    }

    @Test func brokenYAMLReportsItsLine() {
        let found = problems("not-yaml")
        #expect(found.count == 1)
        #expect(found.first?.message.contains("not valid YAML") == true)
        #expect(found.first?.line != nil)
    }

    @Test func missingFileIsUnreadable() {
        #expect {
            try FleetFile.load(path: "/nonexistent/fleet.yaml")
        } throws: { error in
            guard case .unreadable = error as? FleetFileError else { return false }
            return "\(error)".contains("--fleet")
        }
    }

    @Test func errorTextListsEveryProblem() {
        do {
            _ = try FleetFile.load(path: fixture("duplicate-slugs"))
        } catch {
            #expect(error.description.contains("1 problem; no venue was touched"))
            #expect(error.description.contains("line 7, venue `downtown`, key `slug`: duplicate slug"))
        }
    }

    @Test(arguments: [("90s", 90, "1m30s"), ("30m", 1800, "30m"), ("1h30m", 5400, "1h30m"), ("2d", 172_800, "2d"),
                      ("45s", 45, "45s"), ("1h0m5s", 3605, "1h5s")])
    func durationsParse(text: String, seconds: Int, canonical: String) {
        #expect(FleetDuration.parse(text) == .seconds(seconds))
        #expect(FleetDuration.format(.seconds(seconds)) == canonical)
    }

    @Test(arguments: ["", "5", "m", "5x", "-5m", "0s", "1.5h", "30 minutes"])
    func badDurationsDoNotParse(text: String) {
        #expect(FleetDuration.parse(text) == nil)
    }

    @Test func anAgeMayBeZeroMeaningAnyAge() {
        #expect(FleetDuration.parseAge("0s") == .zero && FleetDuration.parseAge("0d") == .zero && FleetDuration.parseAge("0h0m") == .zero)
        #expect(FleetDuration.parseAge("7d") == .seconds(7 * 86_400) && FleetDuration.parseAge("36h") == .seconds(36 * 3600))
        for bad in ["", "0", "-1s", "soon", "1.5h"] { #expect(FleetDuration.parseAge(bad) == nil, "\(bad)") }
    }

    @Test func selectionByVenueAndTagAndErrorsForUnknownOnes() async throws {
        let fleet = try FleetFile.load(path: fixture("valid"), environment: ["HARBOR_PW": "x"])
        #expect(try fleet.selecting(slugs: [], tags: []).count == 4)
        #expect(try fleet.selecting(slugs: ["harbor"], tags: ["west"]).map(\.slug) == ["airport", "harbor"])
        #expect(throws: SelectionError.self) { try fleet.selecting(slugs: ["nowhere"], tags: []) }
        #expect(throws: SelectionError.self) { try fleet.selecting(slugs: [], tags: ["east"]) }
    }
}

@Suite struct BackupStorageSettingsTests {
    @Test func compressionParsesAndDefaultsToZstd3() {
        #expect(BackupCompression.parse("zstd") == .zstd(level: 3))
        #expect(BackupCompression.parse("zstd:19") == .zstd(level: 19))
        #expect(BackupCompression.parse("gzip:0") == .gzip(level: 0))
        #expect(BackupCompression.parse("none") == BackupCompression.none)
        for bad in ["zstd:20", "zstd:0", "gzip:10", "lz4", "zstd:", "none:1"] { #expect(BackupCompression.parse(bad) == nil, "\(bad)") }
        #expect(BackupPolicy(directory: "/b").compression == .zstd(level: 3))
    }

    @Test func encryptionNeedsRecipientsAndChecksThem() throws {
        let yaml = """
            version: 1
            defaults:
              url: postgresql://ops@db/{database}
              backup:
                compression: zstd:9
                encrypt:
                  recipients: [age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq]
                  identity_file: keys/identity.txt
            venues:
              - slug: a
              - slug: b
                backup:
                  encrypt: {identity_file: /x}
              - slug: c
                backup:
                  encrypt: {recipients: [not-a-key]}
            """
        #expect { try FleetFile.parse(yaml: yaml, path: "/srv/fleet.yaml", environment: [:]) } throws: { error in
            let problems = (error as? FleetFileError)?.problems ?? []
            return problems.count == 2 && problems.contains { $0.venue == "b" && $0.message.contains("give `recipients`") }
                && problems.contains { $0.venue == "c" && $0.message.contains("not an age recipient") }
        }
        let fleet = try FleetFile.parse(yaml: yaml.components(separatedBy: "  - slug: b")[0], path: "/srv/fleet.yaml", environment: [:])
        #expect(fleet.venues[0].backup.compression == .zstd(level: 9))
        #expect(fleet.venues[0].backup.encryption?.identityFile == "/srv/keys/identity.txt")
    }
}

/// The third fault drill's fleet-file items: `verify.no_owner`, and `identity_env` not needed to back up.
@Suite struct VerifySettingsTests {
    @Test func noOwnerIsABooleanOnTheVenueOrInDefaults() throws {
        let yaml = """
            version: 1
            defaults:
              url: postgresql://ops@db/{database}
              verify: {no_owner: true}
            venues:
              - slug: a
              - slug: b
                verify: {no_owner: false}
            """
        let fleet = try FleetFile.parse(yaml: yaml, path: "/srv/fleet.yaml", environment: [:])
        #expect(fleet.venues.map(\.verifyNoOwner) == [true, false])
        let plain = try FleetFile.parse(yaml: "version: 1\ndefaults: {url: \"postgresql://ops@db/{database}\"}\nvenues: [{slug: a}]\n",
                                        path: "/srv/fleet.yaml", environment: [:])
        #expect(plain.venues[0].verifyNoOwner == false)
        #expect { try FleetFile.parse(yaml: yaml.replacingOccurrences(of: "no_owner: false", with: "no_owner: maybe"), path: "/srv/fleet.yaml", environment: [:]) }
            throws: { error in
                let problems = (error as? FleetFileError)?.problems ?? []
                return problems.count == 1 && problems[0].venue == "b" && problems[0].key == "verify.no_owner" && problems[0].message == "must be true or false"
            }
    }

    @Test func anIdentityVariableNeedNotBeSetToReadTheFleet() throws {
        let yaml = """
            version: 1
            defaults:
              url: postgresql://ops@db/{database}
              backup:
                encrypt:
                  recipients: [age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq]
                  identity_env: GWI_UNSET_IDENTITY
            venues:
              - slug: a
            """
        let fleet = try FleetFile.parse(yaml: yaml, path: "/srv/fleet.yaml", environment: [:])
        #expect(fleet.venues[0].backup.encryption?.identityEnv == "GWI_UNSET_IDENTITY")
        #expect { try FleetFile.parse(yaml: yaml.replacingOccurrences(of: "GWI_UNSET_IDENTITY", with: "not a name"), path: "/srv/fleet.yaml", environment: [:]) }
            throws: { ($0 as? FleetFileError)?.problems.first?.message.contains("is not an environment variable name") == true }
    }
}

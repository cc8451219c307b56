/// The environment variables a fleet file names as holding a secret: every `password_env`, the
/// age `identity_env`, Neon's `api_key_env`. `exec` keeps them from its command and takes their
/// values out of its logs.
extension Fleet {
    public var secretVariables: Set<String> {
        var names = Set<String>()
        for venue in venues {
            if let name = venue.passwordEnv { names.insert(name) }
            if let name = venue.backup.encryption?.identityEnv { names.insert(name) }
            if case .neon(let neon) = venue.pitr { names.insert(neon.apiKeyEnv) }
            if let neon = venue.scratchNeon { names.insert(neon.apiKeyEnv) }
        }
        if let name = discovery?.registry?.passwordEnv { names.insert(name) }
        if let name = discovery?.databases?.passwordEnv { names.insert(name) }
        return names
    }
}

/// One part of a fleet run split across machines (`--shard INDEX/COUNT`): the venues whose
/// rendezvous (highest random weight) hash picks this index. Adding a venue moves no other venue;
/// going from N to N+1 shards moves only the venues the new shard wins, about 1/(N+1) of them.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) throws(ShardError) {
        guard count >= 1, count <= 10_000 else { throw .badCount(count) }
        guard index >= 0, index < count else { throw .badIndex(index, count: count) }
        self.index = index
        self.count = count
    }

    /// `2/4`
    public var description: String { "\(index)/\(count)" }

    /// Reads `INDEX/COUNT`.
    public static func parse(_ text: String) throws(ShardError) -> Shard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else { throw .unreadable(text) }
        return try Shard(index: index, count: count)
    }

    /// The shard (0…count−1) a venue belongs to when the fleet is split `count` ways.
    public static func assign(_ slug: String, count: Int) -> Int {
        var best = 0
        var bestWeight: UInt64 = 0
        for index in 0..<max(1, count) {
            let weight = Self.weight(slug, index)
            if index == 0 || weight > bestWeight { (best, bestWeight) = (index, weight) }
        }
        return best
    }

    public func contains(_ slug: String) -> Bool { Self.assign(slug, count: count) == index }

    /// A stable 64-bit weight for (slug, shard): FNV-1a, then SplitMix64's finalizer to spread the
    /// bits. The same on every machine and every run (Swift's own Hasher is seeded per process).
    static func weight(_ slug: String, _ index: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in slug.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        hash = (hash ^ 0xff) &* 0x0000_0100_0000_01b3
        var z = hash ^ (UInt64(index) &* 0x9e37_79b9_7f4a_7c15)
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// A `--shard` that cannot be used.
public enum ShardError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(String)
    case badCount(Int)
    case badIndex(Int, count: Int)

    public var description: String {
        switch self {
        case .unreadable(let text): "--shard: `\(text)` is not INDEX/COUNT (e.g. 0/4)"
        case .badCount(let count): "shard count must be between 1 and 10000, got \(count)"
        case .badIndex(let index, let count): "shard index must be between 0 and \(count - 1), got \(index)"
        }
    }
}

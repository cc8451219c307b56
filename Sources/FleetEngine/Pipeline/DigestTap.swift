import Crypto
import FleetBasics
import Foundation
import Synchronization

/// A stage that lets bytes through unchanged and takes their SHA-256, MD5 and count on the way,
/// at any point of a chain (before compression, after encryption, …). The relay that carries the
/// bytes does the hashing; the tap holds the result once the chain has finished.
public final class DigestTap: Sendable {
    /// What a finished tap saw.
    public struct Digest: Sendable, Equatable {
        public var bytes: Int
        /// Lowercase hex.
        public var sha256: String
        /// Lowercase hex: what S3 reports as the ETag of a single-part upload.
        public var md5: String

        public init(bytes: Int, sha256: String, md5: String) {
            self.bytes = bytes
            self.sha256 = sha256
            self.md5 = md5
        }
    }

    private let result = Mutex<Digest?>(nil)

    public init() {}

    func finish(_ digest: Digest) { result.withLock { $0 = digest } }

    /// The digest, or an empty one when the chain never ran to its end.
    public var digest: Digest { result.withLock { $0 } ?? Digester().finalize() }
    public var bytes: Int { digest.bytes }
    public var sha256: String { digest.sha256 }
    public var md5: String { digest.md5 }

    /// SHA-256, MD5 and size of a whole file, read in 1 MiB chunks on a blocking thread.
    public static func file(_ path: String) async throws -> Digest {
        try await BlockingExecutor.shared.run { try digest(ofFile: path) }
    }

    /// `file(_:)` on the calling thread.
    public static func digest(ofFile path: String) throws -> Digest {
        var digester = Digester()
        try DurableFile.readChunks(of: path) { digester.update($0) }
        return digester.finalize()
    }
}

/// The running hash state, owned by one thread at a time.
struct Digester {
    private var sha256 = SHA256()
    private var md5 = Insecure.MD5()
    private var bytes = 0

    mutating func update(_ chunk: UnsafeRawBufferPointer) {
        sha256.update(bufferPointer: chunk)
        md5.update(bufferPointer: chunk)
        bytes += chunk.count
    }

    func finalize() -> DigestTap.Digest {
        DigestTap.Digest(bytes: bytes, sha256: Self.hex(sha256.finalize()), md5: Self.hex(md5.finalize()))
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        for byte in digest { text += [digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]] }
        return String(decoding: text, as: UTF8.self)
    }
}

import Foundation
import Yams

/// Escaping for values put into connection strings.
public enum ConnectionText {
    /// RFC 3986 unreserved characters kept, everything else as `%XX` (UTF-8).
    public static func percentEncoded(_ value: String) -> String {
        var result = ""
        for byte in value.utf8 {
            let scalar = Unicode.Scalar(byte)
            if ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || "-._~".unicodeScalars.contains(scalar) {
                result.unicodeScalars.append(scalar)
            } else {
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }
}

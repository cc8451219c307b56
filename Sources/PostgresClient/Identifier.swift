import Foundation

/// SQL identifier and literal quoting, for the few places where a name cannot be a `$n` parameter.
public enum SQLQuoting {
    /// `Order` → `"Order"`, `what's "it"` → `"what's ""it"""`.
    public static func identifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A schema-qualified name, each part quoted: `"public"."Audit Log"`.
    public static func qualified(schema: String, name: String) -> String {
        identifier(schema) + "." + identifier(name)
    }

    /// A string literal with standard_conforming_strings semantics: `it's` → `'it''s'`.
    public static func literal(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
    }
}

/// The hooks the daemon offers by name (`--hook`), each written with the public hook API.
public enum BuiltinHook: Sendable, Hashable, CustomStringConvertible {
    /// Every message back as it came. Runs entirely in the C core.
    case echo
    /// ASCII `a`–`z` become `A`–`Z`; every other byte, UTF-8 included, is unchanged.
    case upper
    /// ASCII `A`–`Z` become `a`–`z`; every other byte is unchanged.
    case lower
    /// The message's bytes in reverse order.
    case reverse
    /// ASCII letters rotated by 13; every other byte is unchanged.
    case rot13
    /// This text, then the message.
    case prefix(String)

    /// The names `--hook` accepts; `prefix:` takes the rest of the value, literally.
    static let names = ["echo", "upper", "lower", "reverse", "rot13", "prefix:TEXT"]

    /// Reads `echo`, `upper`, …, or `prefix:TEXT` (everything after the first `:`).
    init?(name: String) {
        if let colon = name.firstIndex(of: ":"), name[..<colon].lowercased() == "prefix" {
            self = .prefix(String(name[name.index(after: colon)...]))
            return
        }
        switch name.lowercased() {
        case "echo": self = .echo
        case "upper": self = .upper
        case "lower": self = .lower
        case "reverse": self = .reverse
        case "rot13": self = .rot13
        default: return nil
        }
    }

    /// The name `--hook` takes for this hook.
    public var description: String {
        switch self {
        case .echo: "echo"
        case .upper: "upper"
        case .lower: "lower"
        case .reverse: "reverse"
        case .rot13: "rot13"
        case .prefix(let text): "prefix:\(text)"
        }
    }
}

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
    /// `upper` written as an async hook that never suspends: what the async hook API costs
    /// (the message copied in, the reply copied out, a task), beside `upper`.
    case asyncUpper
    /// This text, then the message.
    case prefix(String)
    /// Fault injection: echo, but throw on every `n`th message of a connection (n ≥ 1), which
    /// closes that connection as any failing hook does. For testing how clients and
    /// deployments handle hook failures.
    case failEvery(Int)
    /// Echo each message after a delay in milliseconds, uniformly random in the range, without
    /// holding the loop (an async hook): for testing clients and networks against a slow peer.
    case delay(ClosedRange<Int>)

    /// The longest `delay:` in milliseconds: an hour.
    static let maxDelay = 3_600_000

    /// The names `--hook` accepts; `prefix:` takes the rest of the value, literally.
    static let names = ["echo", "upper", "lower", "reverse", "rot13", "async-upper", "prefix:TEXT", "fail-every:N",
                        "delay:MS", "delay:MIN-MAX"]

    /// Reads `echo`, `upper`, …, `prefix:TEXT` (everything after the first `:`),
    /// `fail-every:N` with N a decimal integer ≥ 1, or `delay:MS` or `delay:MIN-MAX` in
    /// milliseconds, 0 to ``maxDelay``, MIN ≤ MAX.
    public init?(name: String) {
        if let colon = name.firstIndex(of: ":") {
            let head = name[..<colon].lowercased(), rest = String(name[name.index(after: colon)...])
            switch head {
            case "prefix":
                self = .prefix(rest)
            case "fail-every":
                guard let n = ValueSyntax.parseInteger(rest), n >= 1 else { return nil }
                self = .failEvery(n)
            case "delay":
                let bounds = rest.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
                    .map { ValueSyntax.parseInteger(String($0)) }
                guard let low = bounds.first ?? nil, let high = bounds.last ?? nil,
                      0 <= low, low <= high, high <= Self.maxDelay else { return nil }
                self = .delay(low...high)
            default:
                return nil
            }
            return
        }
        switch name.lowercased() {
        case "echo": self = .echo
        case "upper": self = .upper
        case "lower": self = .lower
        case "reverse": self = .reverse
        case "rot13": self = .rot13
        case "async-upper": self = .asyncUpper
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
        case .asyncUpper: "async-upper"
        case .prefix(let text): "prefix:\(text)"
        case .failEvery(let n): "fail-every:\(n)"
        case .delay(let range): range.count == 1 ? "delay:\(range.lowerBound)" : "delay:\(range.lowerBound)-\(range.upperBound)"
        }
    }
}

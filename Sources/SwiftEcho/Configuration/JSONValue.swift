/// A parsed JSON document, kept as written: numbers keep their text (so `1.5` stays `1.5` and
/// `65536` stays an integer) and objects keep their member order (so errors name the first bad
/// key in the file, and duplicate keys can be refused).
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's text exactly as in the file, e.g. `-0.5e3`.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([Member])

    struct Member: Sendable, Equatable {
        var key: String
        var value: JSONValue
    }

    /// "an array", "a string", …: for messages about a value of the wrong type.
    var typeDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The value as compact JSON, cut to about `limit` characters, for quoting in messages.
    func rendered(limit: Int = 40) -> String {
        let text = compactJSON
        return text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }

    private var compactJSON: String {
        switch self {
        case .null: "null"
        case .bool(let value): value ? "true" : "false"
        case .number(let text): text
        case .string(let text): JSONEscaping.quoted(text)
        case .array(let items): "[" + items.map(\.compactJSON).joined(separator: ",") + "]"
        case .object(let members):
            "{" + members.map { JSONEscaping.quoted($0.key) + ":" + $0.value.compactJSON }
                .joined(separator: ",") + "}"
        }
    }
}

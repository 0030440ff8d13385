/// One line of the protocol: `GET key`, `SET key value` (the value is the rest of the line),
/// `DEL key`, `COUNT`, `QUIT`.
public enum Command: Equatable, Sendable {
    case get(String)
    case set(String, String)
    case delete(String)
    case count
    case quit

    /// Why a line is not a command: said back to the client.
    public struct Invalid: Error, Equatable {
        public let reason: String

        public init(reason: String) {
            self.reason = reason
        }
    }

    public init(line: String) throws(Invalid) {
        let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard let verb = words.first?.uppercased() else { throw Invalid(reason: "empty line") }
        switch (verb, words.count) {
        case ("GET", 2): self = .get(String(words[1]))
        case ("SET", 3): self = .set(String(words[1]), String(words[2]))
        case ("DEL", 2): self = .delete(String(words[1]))
        case ("COUNT", 1): self = .count
        case ("QUIT", 1): self = .quit
        case ("GET", _), ("DEL", _): throw Invalid(reason: "\(verb) takes one key")
        case ("SET", _): throw Invalid(reason: "SET takes a key and a value")
        default: throw Invalid(reason: "unknown command \(verb)")
        }
    }
}

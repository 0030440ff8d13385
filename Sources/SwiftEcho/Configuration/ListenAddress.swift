import cecho

/// An address to listen on, as given to `--listen`: `HOST:PORT`, `[IPV6]:PORT` or `unix:PATH`.
///
/// ```swift
/// let address = try ListenAddress(parsing: "[::1]:7000")   // .tcp(host: "::1", port: 7000)
/// ```
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// TCP on every address `host` (a name or a literal, IPv6 without brackets) resolves to;
    /// port 0 picks a free port for this address.
    case tcp(host: String, port: Int)
    /// A Unix-domain stream socket at `path`, absolute or relative to the working directory.
    case unix(path: String)

    /// Why a text is not a listen address.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// What is wrong, e.g. "the port is missing".
        public var description: String
    }

    /// What a valid address looks like, completing "expected …".
    public static let expectation = "HOST:PORT, [IPV6]:PORT or unix:PATH (PORT from 0 to 65535)"

    /// Reads `HOST:PORT`, `[IPV6]:PORT` or `unix:PATH`.
    public init(parsing text: String) throws(ParseError) {
        func refuse(_ why: String) -> ParseError { ParseError(description: why) }
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            let limit = ce_net_unix_path_max()
            if path.isEmpty { throw refuse("the Unix socket path is empty") }
            if path.utf8.contains(0) { throw refuse("the Unix socket path contains a NUL byte") }
            if path.utf8.count > limit {
                throw refuse("the Unix socket path is \(path.utf8.count) bytes, longer than the \(limit) a socket address holds")
            }
            self = .unix(path: path)
            return
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw refuse("the '[' has no closing ']'") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if host.isEmpty { throw refuse("the host is empty") }
            if !host.contains(":") { throw refuse("brackets are for IPv6 addresses") }
            guard rest.hasPrefix(":") else {
                throw refuse(rest.isEmpty ? "the port is missing" : "expected ':' and a port after ']'")
            }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw refuse("the port is missing") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { throw refuse("an IPv6 address with a port needs brackets, as in [::1]:7") }
            if host.isEmpty { throw refuse("the host is empty") }
        }
        if portText.isEmpty { throw refuse("the port is missing") }
        guard let port = ValueSyntax.parseInteger(String(portText)), (0...65535).contains(port) else {
            throw refuse("the port \(MessageText.quoted(String(portText))) is not a number from 0 to 65535")
        }
        self = .tcp(host: String(host), port: port)
    }

    /// The address as `--listen` takes it: `127.0.0.1:7`, `[::1]:7`, `unix:/run/echo.sock`.
    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}

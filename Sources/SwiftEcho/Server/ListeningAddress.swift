/// An address a server listens on, as the system reports it after binding (so port 0 has
/// become the real port).
public struct ListeningAddress: Sendable, Hashable, CustomStringConvertible {
    /// "127.0.0.1:10000", or "[::1]:10000" for IPv6.
    public let endpoint: String
    public let port: Int

    /// The address without the port and without IPv6 brackets.
    public var host: String {
        var host = endpoint.prefix(upTo: endpoint.lastIndex(of: ":") ?? endpoint.endIndex)
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return String(host)
    }

    public var description: String { endpoint }
}

/// An address a server listens on, as the system reports it after binding: port 0 has become
/// the real port and a host name its numeric address. The same type as the configuration's
/// ``ListenAddress``, so a server's addresses can be given back to `--listen` as they are.
public typealias ListeningAddress = ListenAddress

extension ListenAddress {
    /// The TCP port; nil for a Unix socket.
    public var port: Int? {
        if case .tcp(_, let port) = self { port } else { nil }
    }

    /// The TCP host, IPv6 without brackets; nil for a Unix socket.
    public var host: String? {
        if case .tcp(let host, _) = self { host } else { nil }
    }

    /// The Unix socket's path; nil for TCP.
    public var path: String? {
        if case .unix(let path) = self { path } else { nil }
    }
}

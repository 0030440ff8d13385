import cecho

/// Binding listeners and reading back where they are: the socket calls the server needs
/// before its loop runs, each a thin wrapper over the core's net helpers.
enum Listeners {
    /// Binds a TCP listener on every address `host` names, all on one port.
    static func bindTCP(host: String, port: Int, backlog: Int) throws(CoreError) -> [Int32] {
        var fds = [Int32](repeating: -1, count: 16)
        var count = 0
        let message = fds.withUnsafeMutableBufferPointer { buffer in
            CoreError.capture { err, len in
                ce_net_listen_tcp(host, UInt16(port), Int32(clamping: backlog), buffer.baseAddress,
                                  buffer.count, &count, err, len)
            }
        }
        if let message { throw CoreError(message: message) }
        return Array(fds.prefix(count))
    }

    /// Where listener `fd` is bound, or nil when the system cannot say.
    static func address(of fd: Int32) -> ListeningAddress? {
        var text = [CChar](repeating: 0, count: 64)
        let port = ce_net_local_port(fd)
        guard port >= 0, ce_net_local_endpoint(fd, &text, text.count) == 0 else { return nil }
        let endpoint = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return ListeningAddress(endpoint: endpoint, port: Int(port))
    }
}

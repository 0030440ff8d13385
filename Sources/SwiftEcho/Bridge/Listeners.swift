import cecho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The socket file a Unix listener was bound to, and which file it was, so that it is removed
/// only while it is still ours: a restart that replaced it keeps its own.
struct UnixSocketFile: Sendable {
    let path: String
    fileprivate let identity: ce_unix_file

    /// Removes the file if it is still the one we created; silent when it is gone or replaced.
    func remove() {
        withUnsafePointer(to: identity) { _ = ce_net_remove_unix(path, $0) }
    }
}

/// Binding listeners and reading back where they are: the socket calls the server needs
/// before its loop runs, each a thin wrapper over the core's net helpers.
enum Listeners {
    /// Binds a TCP listener on every address `host` names, all on one port. With `sharedPort`
    /// (SO_REUSEPORT), later calls for the same port bind more listeners, one per loop.
    static func bindTCP(host: String, port: Int, backlog: Int, sharedPort: Bool = false) throws(CoreError) -> [Int32] {
        var fds = [Int32](repeating: -1, count: 16)
        var count = 0
        let message = fds.withUnsafeMutableBufferPointer { buffer in
            CoreError.capture { err, len in
                ce_net_listen_tcp(host, UInt16(port), Int32(clamping: backlog),
                                  sharedPort ? CE_LISTEN_SHARED_PORT : 0, buffer.baseAddress,
                                  buffer.count, &count, err, len)
            }
        }
        if let message { throw CoreError(message: message) }
        return Array(fds.prefix(count))
    }

    /// Binds a Unix-domain stream listener at `path` with permissions `mode`, replacing a stale
    /// socket file but never a live one or anything else.
    static func bindUnix(path: String, mode: Int, backlog: Int) throws(CoreError) -> (Int32, UnixSocketFile) {
        var fd: Int32 = -1
        var identity = ce_unix_file()
        let message = CoreError.capture { err, len in
            ce_net_listen_unix(path, UInt32(mode), Int32(clamping: backlog), &fd, &identity, err, len)
        }
        if let message { throw CoreError(message: message) }
        return (fd, UnixSocketFile(path: path, identity: identity))
    }

    /// A UDP socket on the address and port TCP listener `fd` is bound to. `EADDRINUSE` when
    /// that UDP port is taken (`inUse` tells).
    static func bindUDP(like fd: Int32) throws(UDPBindError) -> Int32 {
        var udp: Int32 = -1
        var code: Int32 = 0
        let message = CoreError.capture { err, len in
            udp = ce_net_listen_like(fd, CE_LISTEN_DATAGRAM, 0, err, len)
            code = errno
            return udp == -1 ? -1 : 0
        }
        if let message { throw UDPBindError(message: message, inUse: code == EADDRINUSE) }
        return udp
    }

    /// One more TCP listener on the address and shared port of listener `fd` (bound with
    /// `sharedPort`), for another loop.
    static func bindTCP(like fd: Int32, backlog: Int) throws(CoreError) -> Int32 {
        var copy: Int32 = -1
        let message = CoreError.capture { err, len in
            copy = ce_net_listen_like(fd, CE_LISTEN_SHARED_PORT, Int32(clamping: backlog), err, len)
            return copy == -1 ? -1 : 0
        }
        if let message { throw CoreError(message: message) }
        return copy
    }

    struct UDPBindError: Error {
        let message: String
        let inUse: Bool
    }

    /// Where listener `fd` is bound, or nil when the system cannot say.
    static func address(of fd: Int32) -> ListeningAddress? {
        var text = [CChar](repeating: 0, count: 160)
        guard ce_net_local_endpoint(fd, &text, text.count) == 0 else { return nil }
        let endpoint = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return try? ListenAddress(parsing: endpoint)
    }
}

import Glibc

/// The dead-peer options the daemon set on one of its TCP connections, read from the daemon's
/// own socket: a copy of its descriptor taken with `pidfd_getfd` (Linux 5.6; the test
/// process may trace its child), then `getsockopt`.
struct PeerSocketOptions: Equatable, CustomStringConvertible {
    var keepalive: Bool
    var idleSeconds: Int32
    var intervalSeconds: Int32
    var probes: Int32
    var userTimeoutMilliseconds: Int32

    var description: String {
        "keepalive \(keepalive) idle \(idleSeconds) s interval \(intervalSeconds) s probes \(probes)"
            + " user timeout \(userTimeoutMilliseconds) ms"
    }

    /// Why they cannot be read here, or nil when they can.
    static let unavailableReason: String? = pidfdOpen == nil || pidfdGetfd == nil
        ? "this C library has no pidfd_getfd()" : nil

    /// The options of each connected stream socket of `domains` (TCP by default) process `pid`
    /// holds beyond its standard streams, by descriptor.
    static func ofConnections(in pid: pid_t, domains: [Int32] = [AF_INET, AF_INET6]) throws -> [Int32: PeerSocketOptions] {
        guard let open = pidfdOpen, let getfd = pidfdGetfd else { throw TestClientError(unavailableReason!) }
        let pidfd = open(pid, 0)
        guard pidfd >= 0 else { throw TestClientError("pidfd_open(\(pid)): \(String(cString: strerror(errno)))") }
        defer { close(pidfd) }
        var result: [Int32: PeerSocketOptions] = [:]
        for target in socketDescriptors(of: pid) where target > 2 {
            let fd = getfd(pidfd, target, 0)
            guard fd >= 0 else {
                if errno == EBADF { continue }  // closed meanwhile
                throw TestClientError("pidfd_getfd(\(pid), \(target)): \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            guard option(fd, SOL_SOCKET, SO_TYPE) == Int32(SOCK_STREAM.rawValue),
                  option(fd, SOL_SOCKET, SO_ACCEPTCONN) == 0,
                  domains.contains(option(fd, SOL_SOCKET, SO_DOMAIN)) else { continue }
            result[target] = PeerSocketOptions(
                keepalive: option(fd, SOL_SOCKET, SO_KEEPALIVE) != 0,
                idleSeconds: option(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE),
                intervalSeconds: option(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL),
                probes: option(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT),
                userTimeoutMilliseconds: option(fd, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT))
        }
        return result
    }

    /// The descriptors of `pid` that are sockets (their /proc link reads `socket:[inode]`).
    private static func socketDescriptors(of pid: pid_t) -> [Int32] {
        guard let dir = opendir("/proc/\(pid)/fd") else { return [] }
        defer { closedir(dir) }
        var result: [Int32] = []
        while let entry = readdir(dir) {
            let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
            let name = String(cString: (UnsafeRawPointer(entry) + offset).assumingMemoryBound(to: CChar.self))
            guard let fd = Int32(name) else { continue }
            var link = [CChar](repeating: 0, count: 64)
            let n = readlink("/proc/\(pid)/fd/\(name)", &link, link.count - 1)
            if n > 0, string(fromCString: link).hasPrefix("socket:") { result.append(fd) }
        }
        return result
    }

    private static func option(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32 {
        var value: Int32 = -1
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &length) == 0 ? value : -1
    }

    // Linux's pidfd calls (glibc 2.36), which the Glibc module does not import.
    private static let pidfdOpen: (@convention(c) (pid_t, UInt32) -> Int32)? =
        dlsym(nil, "pidfd_open").map { unsafeBitCast($0, to: (@convention(c) (pid_t, UInt32) -> Int32).self) }
    private static let pidfdGetfd: (@convention(c) (Int32, Int32, UInt32) -> Int32)? =
        dlsym(nil, "pidfd_getfd").map { unsafeBitCast($0, to: (@convention(c) (Int32, Int32, UInt32) -> Int32).self) }
}

import Glibc

/// A UDP socket for tests, optionally bound to a chosen source address and port (port 7, or
/// 127.0.0.2 as a second source). Every receive is bounded by a timeout.
final class UDPClient {
    let fd: Int32
    private let server: sockaddr_storage
    private let serverLength: socklen_t

    /// A socket that sends to `host:port` (IPv4 or IPv6 literal), from `source`:`sourcePort`
    /// when given (else the system picks).
    init(host: String = "127.0.0.1", port: Int, source: String? = nil, sourcePort: Int = 0) throws {
        (server, serverLength) = try socketAddress(host, port)
        fd = socket(Int32(server.ss_family), Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestClientError("socket: \(String(cString: strerror(errno)))") }
        var size: Int32 = 4 << 20  // room for a whole burst of replies
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        if source != nil || sourcePort != 0 {
            var (local, localLength) = try socketAddress(source ?? (server.ss_family == AF_INET6 ? "::" : "0.0.0.0"), sourcePort)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, localLength) }
            }
            guard bound == 0 else {  // deinit closes fd (every property is set), as TestClient's does
                throw TestClientError("bind(\(source ?? "*"):\(sourcePort)): \(String(cString: strerror(errno)))")
            }
        }
    }

    deinit { Glibc.close(fd) }

    /// Sends one datagram; throws if the kernel refuses it.
    func send(_ bytes: [UInt8]) throws {
        var to = server
        let n = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &to) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buffer.baseAddress, buffer.count, 0, $0, serverLength)
                }
            }
        }
        guard n == bytes.count else { throw TestClientError("sendto: \(String(cString: strerror(errno)))") }
    }

    /// The next datagram within `timeout` seconds, or nil.
    func receive(timeout: Double) -> [UInt8]? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return n >= 0 ? Array(buffer[0..<n]) : nil
    }

    /// Sends `bytes` and returns the reply, or nil when none comes within `timeout`.
    func roundTrip(_ bytes: [UInt8], timeout: Double = 2) throws -> [UInt8]? {
        try send(bytes)
        return receive(timeout: timeout)
    }

    /// Counts the datagrams that arrive until none has for `quiet` seconds.
    func countReplies(quiet: Double) -> Int {
        var count = 0
        while receive(timeout: quiet) != nil { count += 1 }
        return count
    }
}

/// `host:port` as a socket address (numeric hosts only).
private func socketAddress(_ host: String, _ port: Int) throws -> (sockaddr_storage, socklen_t) {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
    var list: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, String(port), &hints, &list) == 0, let ai = list else {
        throw TestClientError("getaddrinfo(\(host)) failed")
    }
    defer { freeaddrinfo(list) }
    var storage = sockaddr_storage()
    withUnsafeMutableBytes(of: &storage) { target in
        target.copyMemory(from: UnsafeRawBufferPointer(start: ai.pointee.ai_addr, count: Int(ai.pointee.ai_addrlen)))
    }
    return (storage, ai.pointee.ai_addrlen)
}

import Glibc

/// What a test client can run into; every wait in a test ends in one of these at worst.
struct TestClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A blocking TCP client for tests (`@unchecked Sendable`: one thread may read while another
/// writes, as sockets allow). Every call that waits is bounded by `timeout`, so a
/// server that misbehaves fails the test instead of hanging CI.
///
/// Once `fd` and `timeout` are set, `deinit` owns the descriptor, also when `init` throws after
/// that: Swift runs a class's `deinit` once every stored property is set. Closing it in `init`
/// as well closed whatever descriptor a parallel test had opened under the same number (a
/// daemon's stderr pipe, which then died of SIGPIPE).
final class TestClient: @unchecked Sendable {
    let fd: Int32
    var timeout: Double

    /// Connects to `host:port` (IPv4 or IPv6 literal), within `timeout` seconds, from address
    /// `source` when given (127.0.0.2 is a second client address on loopback).
    init(host: String = "127.0.0.1", port: Int, timeout: Double = 5, receiveBuffer: Int? = nil,
         source: String? = nil) throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let ai = list else {
            throw TestClientError("getaddrinfo(\(host)) failed")
        }
        defer { freeaddrinfo(list) }
        fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestClientError("socket: \(String(cString: strerror(errno)))") }
        self.timeout = timeout
        if let receiveBuffer { setOption(SOL_SOCKET, SO_RCVBUF, Int32(receiveBuffer)) }
        setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        setTimeouts(timeout)
        if let source {
            var hints = addrinfo()
            hints.ai_flags = AI_NUMERICHOST
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var local: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(source, "0", &hints, &local) == 0, let address = local else {
                throw TestClientError("getaddrinfo(\(source)) failed")
            }
            defer { freeaddrinfo(local) }
            guard bind(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
                throw TestClientError("bind(\(source)): \(String(cString: strerror(errno)))")
            }
        }
        guard connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
            throw TestClientError("connect(\(host):\(port)): \(String(cString: strerror(errno)))")
        }
    }

    /// Connects to the Unix-domain stream socket at `path`, within `timeout` seconds.
    init(unixPath path: String, timeout: Double = 5) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw TestClientError("path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
        }
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestClientError("socket: \(String(cString: strerror(errno)))") }
        self.timeout = timeout
        setTimeouts(timeout)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            throw TestClientError("connect(unix:\(path)): \(String(cString: strerror(errno)))")
        }
    }

    private var closed = false

    deinit { close() }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    private func setOption(_ level: Int32, _ name: Int32, _ value: Int32) {
        var value = value
        setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    private func setTimeouts(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends all of `bytes` (bounded by the send timeout).
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            if n == -1 && errno == EINTR { continue }
            throw TestClientError("send: \(n == -1 ? String(cString: strerror(errno)) : "0") after \(offset) of \(bytes.count) bytes")
        }
    }

    /// Sends as much of `bytes` as the kernel takes without blocking; returns how much.
    func sendWithoutBlocking(_ bytes: [UInt8]) -> Int {
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        return max(n, 0)
    }

    /// Sends without ever reading until the connection stalls: nothing more has gone out for
    /// `quiet` seconds, so every buffer on the way (ours, the kernel's, the server's) is
    /// full. Returns the bytes sent; gives up (returns what it has) after `limit` bytes.
    func sendUntilStalled(quiet: Double = 0.5, limit: Int = 256 << 20) -> Int {
        let junk = [UInt8](repeating: 0x5A, count: 256 << 10)
        var sent = 0, lastProgress = monotonicSeconds()
        while monotonicSeconds() - lastProgress < quiet && sent < limit {
            let n = sendWithoutBlocking(junk)
            if n > 0 { sent += n; lastProgress = monotonicSeconds() } else { usleep(5000) }
        }
        return sent
    }

    /// Receives exactly `count` bytes, or throws on EOF, error or timeout.
    func receive(exactly count: Int) throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = result.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + offset, count - offset, 0) }
            if n > 0 { offset += n; continue }
            if n == -1 && errno == EINTR { continue }
            let why = n == 0 ? "EOF" : (errno == EAGAIN ? "timeout" : String(cString: strerror(errno)))
            throw TestClientError("receive: \(why) after \(offset) of \(count) bytes")
        }
        return result
    }

    /// Receives until the peer closes; throws on error or timeout.
    func receiveUntilEOF(limit: Int = 64 << 20) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count <= limit {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 { result += chunk[0..<n]; continue }
            if n == 0 { return result }
            if errno == EINTR { continue }
            throw TestClientError("receive: \(errno == EAGAIN ? "timeout" : String(cString: strerror(errno))) after \(result.count) bytes")
        }
        throw TestClientError("receive: more than \(limit) bytes")
    }

    /// Receives until the peer closes or resets the connection and returns what arrived
    /// (a reset may come after data the server did send); throws only on timeout.
    func receiveUntilClosed(limit: Int = 64 << 20) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count <= limit {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 { result += chunk[0..<n]; continue }
            if n == -1 && errno == EINTR { continue }
            if n == -1 && errno == EAGAIN { throw TestClientError("receive: timeout after \(result.count) bytes") }
            return result
        }
        throw TestClientError("receive: more than \(limit) bytes")
    }

    /// What the server does with this connection within `timeout`: closes it (EOF or
    /// reset), sends data, or nothing.
    enum Outcome: Equatable { case closed, data, nothingYet }
    func outcome(within seconds: Double) -> Outcome {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(seconds * 1000)) == 1 else { return .nothingYet }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n > 0 ? .data : .closed
    }

    /// Sends `bytes` and expects them back, byte for byte.
    func roundTrip(_ bytes: [UInt8]) throws -> Bool {
        try send(bytes)
        return try receive(exactly: bytes.count) == bytes
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Closes with SO_LINGER 0, so the server sees a reset instead of a FIN.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close()
    }
}

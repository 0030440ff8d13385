import Glibc

/// Many client connections at once on 127.0.0.1, driven from one thread with poll(): for
/// tests that need hundreds or thousands of simultaneous clients without a thread each.
/// Every wait is bounded by a deadline.
final class Crowd {
    /// What became of one connection's exchange.
    enum Outcome: Equatable {
        case echoed    // every byte came back, in order
        case mismatch  // bytes came back, but not the ones sent
        case closed    // EOF or reset before the whole echo
        case timedOut  // still waiting at the deadline
    }

    private(set) var fds: [Int32] = []

    /// Starts `count` non-blocking connects to `port`, every SYN out before any is waited for.
    init(count: Int, port: Int, receiveBuffer: Int? = nil) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                close()
                throw TestClientError("socket: \(String(cString: strerror(errno))) after \(fds.count) sockets")
            }
            fds.append(fd)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if var size = receiveBuffer.map(Int32.init) {
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard rc == 0 || errno == EINPROGRESS else {
                let reason = String(cString: strerror(errno))
                close()
                throw TestClientError("connect: \(reason)")
            }
        }
    }

    deinit { close() }

    func close() {
        fds.forEach { _ = Glibc.close($0) }
        fds = []
    }

    /// Waits until every connect has completed; throws if one failed or is still pending
    /// after `timeout` seconds.
    func waitConnected(timeout: Double) throws {
        let deadline = monotonicSeconds() + timeout
        var pending = Set(fds.indices)
        while !pending.isEmpty {
            let left = deadline - monotonicSeconds()
            guard left > 0 else { throw TestClientError("\(pending.count) of \(fds.count) connects still pending after \(timeout) s") }
            var polled = pending.map { pollfd(fd: fds[$0], events: Int16(POLLOUT), revents: 0) }
            let indices = Array(pending)
            _ = poll(&polled, nfds_t(polled.count), Int32(min(left, 0.1) * 1000) + 1)
            for (slot, entry) in polled.enumerated() where entry.revents != 0 {
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(entry.fd, SOL_SOCKET, SO_ERROR, &error, &length)
                guard error == 0 else { throw TestClientError("connect: \(String(cString: strerror(error)))") }
                pending.remove(indices[slot])
            }
        }
    }

    /// Sends `payload(i)` on connection i, every connection at once, and reads each echo
    /// until it is whole, the server closes, or `timeout` seconds pass.
    func exchange(timeout: Double, _ payload: (Int) -> [UInt8]) -> [Outcome] {
        let payloads = fds.indices.map(payload)
        var sent = [Int](repeating: 0, count: fds.count)
        var received = payloads.map { _ in [UInt8]() }
        var outcomes = [Outcome?](repeating: nil, count: fds.count)
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = monotonicSeconds() + timeout
        while outcomes.contains(nil) && monotonicSeconds() < deadline {
            let open = fds.indices.filter { outcomes[$0] == nil }
            var polled = open.map {
                pollfd(fd: fds[$0], events: Int16(POLLIN) | (sent[$0] < payloads[$0].count ? Int16(POLLOUT) : 0), revents: 0)
            }
            guard poll(&polled, nfds_t(polled.count), 50) > 0 else { continue }
            for (slot, entry) in polled.enumerated() where entry.revents != 0 {
                let i = open[slot]
                if entry.revents & Int16(POLLOUT) != 0 && sent[i] < payloads[i].count {
                    let n = payloads[i].withUnsafeBytes {
                        send(entry.fd, $0.baseAddress! + sent[i], payloads[i].count - sent[i], Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                    }
                    if n > 0 { sent[i] += n } else if n == -1 && errno != EAGAIN && errno != EINTR { outcomes[i] = .closed; continue }
                }
                guard entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { continue }
                let n = chunk.withUnsafeMutableBytes { recv(entry.fd, $0.baseAddress!, $0.count, Int32(MSG_DONTWAIT)) }
                if n > 0 {
                    received[i] += chunk[0..<n]
                    if received[i].count >= payloads[i].count {
                        outcomes[i] = received[i] == payloads[i] ? .echoed : .mismatch
                    }
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    outcomes[i] = .closed
                }
            }
        }
        return outcomes.map { $0 ?? .timedOut }
    }
}

extension Crowd {
    /// Sends on every connection without ever reading until none has made progress for
    /// `quiet` seconds (every buffer on the way is full), or a connection has sent
    /// `limitPerConnection` bytes. Returns the bytes each one sent.
    func sendUntilStalled(quiet: Double, limitPerConnection: Int) -> [Int] {
        let junk = [UInt8](repeating: 0x5A, count: 64 << 10)
        var sent = [Int](repeating: 0, count: fds.count)
        var lastProgress = monotonicSeconds()
        while monotonicSeconds() - lastProgress < quiet {
            var progressed = false
            for (i, fd) in fds.enumerated() where sent[i] < limitPerConnection {
                let n = junk.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if n > 0 { sent[i] += n; progressed = true }
            }
            if progressed { lastProgress = monotonicSeconds() } else { usleep(5000) }
            if sent.contains(where: { $0 >= limitPerConnection }) { break }
        }
        return sent
    }

    /// How many connections the server has closed (EOF or reset seen) within `seconds`.
    /// Reads and drops whatever data arrives first.
    func closedByServer(within seconds: Double) -> Int {
        var closed = Set<Int>()
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = monotonicSeconds() + seconds
        repeat {
            for (i, fd) in fds.enumerated() where !closed.contains(i) {
                while true {
                    let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, Int32(MSG_DONTWAIT)) }
                    if n > 0 { continue }
                    if n == 0 || (errno != EAGAIN && errno != EINTR) { closed.insert(i) }
                    break
                }
            }
            if closed.count == fds.count { break }
            usleep(10_000)
        } while monotonicSeconds() < deadline
        return closed.count
    }
}

extension Array where Element == Crowd.Outcome {
    /// How many connections ended each way, for a readable failure message.
    var tally: [Crowd.Outcome: Int] { reduce(into: [:]) { $0[$1, default: 0] += 1 } }
}

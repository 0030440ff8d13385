import Glibc

/// The service manager's end of `NOTIFY_SOCKET`: a Unix datagram socket the daemon reports to,
/// bound at a path or, for an address starting with `@`, at a Linux abstract name.
final class NotifyReceiver {
    let fd: Int32
    /// The value for NOTIFY_SOCKET.
    let address: String

    init(address: String) throws {
        self.address = address
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var sa = sockaddr_un()
        sa.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(address.utf8)
        guard fd >= 0, bytes.count < MemoryLayout.size(ofValue: sa.sun_path) else {
            throw TestClientError("cannot make a notify socket for \(address)")
        }
        withUnsafeMutableBytes(of: &sa.sun_path) { path in
            path.copyBytes(from: bytes)
            if address.hasPrefix("@") { path[0] = 0 }  // abstract: a leading NUL, no trailing one
        }
        let length = MemoryLayout.offset(of: \sockaddr_un.sun_path)! + bytes.count + (address.hasPrefix("@") ? 0 : 1)
        let bound = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(length)) }
        }
        guard bound == 0 else {  // deinit closes fd (every property is set), as TestClient's does
            throw TestClientError("bind(\(address)): \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        close(fd)
        if !address.hasPrefix("@") { unlink(address) }
    }

    /// The next message, or nil when none comes within `timeout` seconds.
    func receive(timeout: Double) -> String? {
        var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pollfd, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return n >= 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }
}

import Glibc
import Testing
import cecho
import cecho_internal

/// The core's socket helpers, on loopback.
@Suite struct NetTests {
    @Test func listensOnAFreePortAndReportsIt() throws {
        let fds = try listen(host: "127.0.0.1", port: 0)
        defer { fds.forEach { close($0) } }
        #expect(fds.count == 1)
        let port = ce_net_local_port(fds[0])
        #expect(port > 0)
        #expect(endpoint(fds[0]) == "127.0.0.1:\(port)")
        #expect(fcntl(fds[0], F_GETFL) & O_NONBLOCK != 0, "listeners are non-blocking")
        #expect(fcntl(fds[0], F_GETFD) & FD_CLOEXEC != 0, "listeners do not leak into children")
    }

    @Test func formatsIPv6WithBrackets() throws {
        let fds = try listen(host: "::1", port: 0)
        defer { fds.forEach { close($0) } }
        #expect(endpoint(fds[0]) == "[::1]:\(ce_net_local_port(fds[0]))")
    }

    @Test func aNameWithSeveralAddressesSharesOnePort() throws {
        let fds = try listen(host: "localhost", port: 0)
        defer { fds.forEach { close($0) } }
        #expect(fds.count >= 1)
        let ports = Set(fds.map { ce_net_local_port($0) })
        #expect(ports.count == 1, "every address of a name listens on the same port")
    }

    @Test func aPortInUseFailsWithTheAddressAndReason() throws {
        let first = try listen(host: "127.0.0.1", port: 0)
        defer { first.forEach { close($0) } }
        let port = ce_net_local_port(first[0])
        let message = listenError(host: "127.0.0.1", port: port)
        #expect(message == "bind(127.0.0.1:\(port)): Address already in use")
    }

    @Test func anUnknownHostFailsWithTheResolverReason() {
        let message = listenError(host: "no-such-host.invalid", port: 0)
        #expect(message?.hasPrefix("getaddrinfo(no-such-host.invalid): ") == true)
    }

    @Test func backendsOfThisPlatform() {
        #expect(ce_backend_available("select") == 1)
        #expect(ce_backend_available("poll") == 1)
        #expect(ce_backend_available("epoll") == 1)
        #expect(ce_backend_available("kqueue") == 0)
        #expect(ce_backend_available("nonsense") == 0)
        #expect(String(cString: ce_backend_default()) == "epoll")
        #expect(ce_backend_fd_bound("select") == FD_SETSIZE)
        #expect(ce_backend_fd_bound("epoll") == Int32.max)
    }

    @Test func aUnixListenerReportsItsPathAndIsRemovedOnlyWhileItIsOurs() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("n")
        var fd: Int32 = -1
        var file = ce_unix_file()
        var err = [CChar](repeating: 0, count: 256)
        #expect(ce_net_listen_unix(path, 0o600, 4, &fd, &file, &err, err.count) == 0, "\(string(fromCString: err))")
        defer { close(fd) }
        #expect(endpoint(fd) == "unix:\(path)")
        #expect(ce_net_local_port(fd) == -1, "a Unix socket has no port")
        #expect(fcntl(fd, F_GETFL) & O_NONBLOCK != 0 && fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        var other = file
        other.ino &+= 1
        #expect(ce_net_remove_unix(path, &other) == 0, "not the file we created: left")
        #expect(fileStatus(path) != nil)
        #expect(ce_net_remove_unix(path, &file) == 1)
        #expect(fileStatus(path) == nil)
        #expect(ce_net_remove_unix(path, &file) == 0, "already gone")
    }

    @Test func aUnixPathTooLongForASocketAddressIsRefused() {
        let path = "/tmp/" + String(repeating: "x", count: 110)
        var fd: Int32 = -1
        var file = ce_unix_file()
        var err = [CChar](repeating: 0, count: 256)
        #expect(ce_net_listen_unix(path, 0o600, 4, &fd, &file, &err, err.count) == -1)
        #expect(string(fromCString: err) == "a Unix socket path must have 1 to 107 bytes, not 115")
        #expect(ce_net_unix_path_max() == 107)
    }

    private func listen(host: String, port: Int32) throws -> [Int32] {
        var fds = [Int32](repeating: -1, count: 8)
        var count = 0
        var err = [CChar](repeating: 0, count: 256)
        let rc = ce_net_listen_tcp(host, UInt16(port), 16, 0, &fds, fds.count, &count, &err, err.count)
        guard rc == 0 else { throw TestClientError(string(fromCString: err)) }
        return Array(fds.prefix(count))
    }

    private func listenError(host: String, port: Int32) -> String? {
        do {
            let fds = try listen(host: host, port: port)
            fds.forEach { close($0) }
            return nil
        } catch {
            return "\(error)"
        }
    }

    private func endpoint(_ fd: Int32) -> String {
        var text = [CChar](repeating: 0, count: 160)
        _ = ce_net_local_endpoint(fd, &text, text.count)
        return string(fromCString: text)
    }
}

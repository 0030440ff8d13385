import Glibc
@testable import SwiftEcho
import Testing

/// Socket activation as systemd does it: the test binds, passes the socket as the daemon's
/// fd 3 with LISTEN_FDS=1 and LISTEN_PID set to the daemon's own pid (bash's `$$` survives
/// its `exec`), and the daemon serves it instead of binding.
@Suite struct SocketActivationTests {
    private static let activated = "export LISTEN_PID=$$"

    private func activatedDaemon(_ arguments: [String], passing fd: Int32,
                                 environment: [String: String] = ["LISTEN_FDS": "1"]) throws -> Daemon {
        try Daemon(arguments, environment: environment, shellPrefix: Self.activated, passing: [fd])
    }

    /// With two loops, the first accepts on the passed socket and hands connections out.
    @Test(arguments: [1, 2])
    func servesAPassedTCPListener(threads: Int) throws {
        let held = try HeldPort()
        let daemon = try activatedDaemon(["--threads", "\(threads)"], passing: held.fd)
        #expect(daemon.waitForOutput(containing: "listening on 127.0.0.1:\(held.port), backend epoll", timeout: 10),
                "stderr:\n\(daemon.stderr)")
        for round in 0..<3 {  // more than one: the loop must not block in accept on a blocking socket
            let client = try TestClient(port: held.port)
            #expect(try client.roundTrip(Payload.random(count: 5000, seed: UInt64(round))))
            client.close()
        }
        #expect(!daemon.stderr.contains("ignored"), "no address option was given")
        #expect(daemon.stderr.components(separatedBy: "listening on").count == 2, "one line, one socket")
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
    }

    /// A Unix stream listener (`ListenStream=/run/echo.sock`) beside a TCP one: both served,
    /// each with its line; the socket file is systemd's, so it stays when the daemon stops.
    @Test func servesPassedUnixAndTCPListenersTogether() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("echo.sock")
        let unixListener = try UnixListener(path: path)
        let held = try HeldPort()
        let daemon = try Daemon([], environment: ["LISTEN_FDS": "2"], shellPrefix: Self.activated,
                                passing: [unixListener.fd, held.fd])
        #expect(daemon.waitForOutput(containing: "listening on", count: 2, timeout: 10), "stderr:\n\(daemon.stderr)")
        #expect(daemon.stderr.contains("listening on unix:\(path), backend epoll"))
        #expect(daemon.stderr.contains("listening on 127.0.0.1:\(held.port), backend epoll"))
        let local = try TestClient(unixPath: path)
        #expect(try local.roundTrip(Payload.random(count: 3000, seed: 3)))
        local.close()
        let remote = try TestClient(port: held.port)
        #expect(try remote.roundTrip([9]))
        remote.close()
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
        #expect(fileStatus(path) != nil, "systemd's socket file is not ours to remove")
    }

    /// An address option is ignored, with a notice: nothing is bound on it.
    @Test func anExplicitPortIsIgnoredWithANotice() throws {
        let held = try HeldPort()
        let unused = try HeldPort(listening: false)
        let daemon = try activatedDaemon(["--port", "\(unused.port)"], passing: held.fd)
        #expect(daemon.waitForOutput(containing: "listening on", timeout: 10), "stderr:\n\(daemon.stderr)")
        #expect(daemon.stderr.contains("notice echo-cli: socket activation: serving the 1 socket(s) passed in;"
            + " --host, --port and --listen are ignored"))
        #expect(!daemon.stderr.contains(":\(unused.port)"))
        let client = try TestClient(port: held.port)
        #expect(try client.roundTrip([1, 2, 3]))
        client.close()
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
    }

    /// Variables meant for another process (here: this test process) are not ours: the daemon
    /// binds its own address and leaves fd 3 alone.
    @Test func variablesNamingAnotherProcessAreIgnored() throws {
        let held = try HeldPort()
        let daemon = try Daemon.serving([], environment: ["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "1"],
                                        passing: [held.fd])
        #expect(daemon.port != held.port)
        #expect(!daemon.stderr.contains("socket activation"))
        let client = try TestClient(port: daemon.port)
        #expect(try client.roundTrip([4]))
        client.close()
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
    }

    /// What cannot be served is refused at start, exit 69, naming the descriptor and what it is.
    @Test(arguments: [
        ("file", "fd 3: not a socket"),
        ("connected", "fd 3: a Unix stream socket that is not listening (Accept=yes?)"),
        ("unix-datagram", "fd 3: a Unix datagram socket; expected a listening TCP or Unix stream socket or a UDP socket"),
    ])
    func anUnusableDescriptorIsRefused(kind: String, message: String) throws {
        var pair: [Int32] = [-1, -1]
        switch kind {
        case "file": pair = [open("/dev/null", O_RDONLY | O_CLOEXEC)]
        case "connected": #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        default: #expect(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        }
        defer { pair.forEach { close($0) } }
        let daemon = try activatedDaemon(["--port", "0"], passing: pair[0])
        #expect(daemon.waitForExit(timeout: 10) == .exited(69))
        #expect(daemon.stderr == "Error: socket activation: \(message)\n")
    }

    @Test func malformedVariablesAreRefused() throws {
        let held = try HeldPort()
        let daemon = try activatedDaemon([], passing: held.fd, environment: ["LISTEN_FDS": "two"])
        #expect(daemon.waitForExit(timeout: 10) == .exited(69))
        #expect(daemon.stderr.hasPrefix("Error: LISTEN_FDS='two' is not a count of descriptors"))
    }

    // MARK: The variables, without descriptors

    @Test func variablesAreReadAsSdListenFdsReadsThem() throws {
        func passed(_ environment: [String: String]) throws -> Range<Int32>? {
            try SocketActivation.passedDescriptors(environment: environment, processID: 42)
        }
        #expect(try passed([:]) == nil)
        #expect(try passed(["LISTEN_FDS": "2"]) == nil)
        #expect(try passed(["LISTEN_PID": "41", "LISTEN_FDS": "2"]) == nil)
        #expect(try passed(["LISTEN_PID": "42"]) == nil)
        #expect(try passed(["LISTEN_PID": "42", "LISTEN_FDS": "2"]) == 3..<5)
        #expect(try passed(["LISTEN_PID": "42", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "echo"]) == 3..<4)
        for bad in [["LISTEN_PID": "x", "LISTEN_FDS": "1"], ["LISTEN_PID": "-1", "LISTEN_FDS": "1"],
                    ["LISTEN_PID": "42", "LISTEN_FDS": "0"], ["LISTEN_PID": "42", "LISTEN_FDS": "-3"],
                    ["LISTEN_PID": "42", "LISTEN_FDS": "99999999999"]] {
            #expect(throws: SocketActivationError.self, "\(bad)") { try passed(bad) }
        }
    }
}

/// A listening Unix stream socket bound by the test, as systemd binds `ListenStream=PATH`.
final class UnixListener {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 && listen(fd, 16) == 0
            }
        }
        guard fd >= 0, bound else { throw TestClientError("cannot listen on \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }
}

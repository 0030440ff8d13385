import Glibc
import Testing

extension WaitingOnDaemons {
    /// The keepalive and user timeout every TCP connection carries, read from the daemon's own
    /// sockets, on every backend (the behaviour on a real path is in RealNetworkTests).
    @Suite(.enabled(if: PeerSocketOptions.unavailableReason == nil, "needs pidfd_getfd (glibc 2.36, Linux 5.6)"))
    struct DeadPeerTests {
        /// The defaults: probes after 300 s idle, every 100 s, three of them; the user timeout is
        /// the 60 s write timeout plus a quarter.
        @Test(arguments: EchoTests.backends)
        func anAcceptedConnectionCarriesTheDefaults(backend: String) throws {
            let daemon = try Daemon.serving(["--backend", backend])
            let client = try TestClient(port: daemon.port)
            #expect(try client.roundTrip([1]))
            let options = try PeerSocketOptions.ofConnections(in: daemon.pid)
            #expect(Array(options.values) == [PeerSocketOptions(keepalive: true, idleSeconds: 300, intervalSeconds: 100,
                                                                probes: 3, userTimeoutMilliseconds: 75_000)])
        }

        @Test func offWhereAskedAndRoundedWhereNeeded() throws {
            let off = try Daemon.serving(["--keepalive", "0", "--write-timeout", "0"])
            let first = try TestClient(port: off.port)
            #expect(try first.roundTrip([1]))
            #expect(try PeerSocketOptions.ofConnections(in: off.pid).values.map { [$0.keepalive ? 1 : 0, $0.userTimeoutMilliseconds] } == [[0, 0]])
            // 1.2 s rounds up to 2; a third of it is under a second, so probes go every second;
            // a 2 s write timeout gets the minimum margin of 2 s.
            let short = try Daemon.serving(["--keepalive", "1.2", "--write-timeout", "2"])
            let second = try TestClient(port: short.port)
            #expect(try second.roundTrip([1]))
            #expect(Array(try PeerSocketOptions.ofConnections(in: short.pid).values)
                        == [PeerSocketOptions(keepalive: true, idleSeconds: 2, intervalSeconds: 1, probes: 3,
                                              userTimeoutMilliseconds: 4000)])
        }

        /// A connection accepted on a socket systemd passed in carries them too.
        @Test func onConnectionsOfAPassedListener() throws {
            let held = try HeldPort()
            let daemon = try Daemon(["--keepalive", "9"], environment: ["LISTEN_FDS": "1"],
                                    shellPrefix: "export LISTEN_PID=$$", passing: [held.fd])
            #expect(daemon.waitForOutput(containing: "listening on 127.0.0.1:\(held.port)", timeout: 10))
            let client = try TestClient(port: held.port)
            #expect(try client.roundTrip([1]))
            #expect(try PeerSocketOptions.ofConnections(in: daemon.pid).values.map(\.idleSeconds) == [9])
        }

        /// Unix-domain clients have no keepalive to set (and none is asked of their socket).
        @Test func notOnUnixSockets() throws {
            let scratch = try TemporaryDirectory()
            let daemon = try Daemon.serving([], listen: ["unix:" + scratch.file("s")])
            // The daemon may hold Unix sockets it inherited from the test process: the
            // client's connection is the one that appears.
            let before = try PeerSocketOptions.ofConnections(in: daemon.pid, domains: [AF_UNIX])
            let client = try TestClient(unixPath: scratch.file("s"))
            #expect(try client.roundTrip([1]))
            let new = try PeerSocketOptions.ofConnections(in: daemon.pid, domains: [AF_UNIX])
                .filter { before[$0.key] == nil }
            #expect(new.count == 1 && new.values.allSatisfy { !$0.keepalive }, "\(new)")
        }
    }
}

import Foundation
import Glibc
import Testing

/// The daemon's addresses end to end: dual stack, IPv6 loopback, several `--listen` addresses
/// at once from each source, and the refusals, with their exit statuses.
@Suite struct AddressTests {
    @Test(.enabled(if: hasIPv6Loopback, "this machine has no IPv6 loopback"))
    func wildcardIPv6AlsoServesIPv4Clients() throws {
        let daemon = try Daemon.serving(["--host", "::", "--log-level", "debug"])
        #expect(daemon.listeningAddresses == ["[::]:\(daemon.port)"], "one dual-stack socket")
        let v4 = try TestClient(host: "127.0.0.1", port: daemon.port)
        #expect(try v4.roundTrip(Payload.random(count: 3000, seed: 61)))
        let v6 = try TestClient(host: "::1", port: daemon.port)
        #expect(try v6.roundTrip(Payload.random(count: 3000, seed: 62)))
        #expect(daemon.waitForOutput(containing: "new connection", count: 2, timeout: 5))
        let opened = daemon.stderr.split(separator: "\n").filter { $0.hasSuffix("new connection") }
        #expect(opened.contains { $0.contains("peer.address=127.0.0.1:") }, "a v4 client is logged in v4 form: \(opened)")
        #expect(opened.contains { $0.contains("peer.address=[::1]:") })
        #expect(!daemon.stderr.contains("::ffff:"))
    }

    @Test(.enabled(if: hasIPv6Loopback, "this machine has no IPv6 loopback"))
    func ipv6LoopbackServesOnlyIPv6() throws {
        let daemon = try Daemon.serving(["--host", "::1"])
        let client = try TestClient(host: "::1", port: daemon.port)
        #expect(try client.roundTrip(Array("over ::1".utf8)))
        #expect(throws: TestClientError.self, "::1 is not 127.0.0.1") {
            try TestClient(host: "127.0.0.1", port: daemon.port, timeout: 1)
        }
    }

    @Test func severalListenersAllEcho() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("s")
        let daemon = try Daemon.serving([], listen: ["127.0.0.1:0", "127.0.0.1:0", "unix:\(socket)"])
        let addresses = daemon.listeningAddresses
        #expect(addresses.count == 3 && addresses[2] == "unix:\(socket)", "\(addresses)")
        let ports = addresses.prefix(2).compactMap { Int($0.split(separator: ":").last ?? "") }
        #expect(ports.count == 2 && ports[0] != ports[1] && !ports.contains(0), "port 0 picks one per address")
        for (index, port) in ports.enumerated() {
            let client = try TestClient(port: port)
            #expect(try client.roundTrip(Payload.random(count: 5000, seed: UInt64(70 + index))))
        }
        let unixClient = try TestClient(unixPath: socket)
        #expect(try unixClient.roundTrip(Payload.random(count: 5000, seed: 72)))
        #expect(daemon.stderr.contains("listening on unix:\(socket), backend epoll"))
        let stats = try daemon.stats()
        #expect(stats["accepted"] == 3 && stats["errors.other"] == 0, "\(stats)")
    }

    @Test func environmentListServesEveryAddress() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("e")
        let daemon = try Daemon.started([], listeners: 2, environment: ["ECHO_LISTEN": "127.0.0.1:0, unix:\(socket)"])
        #expect(daemon.listeningAddresses.last == "unix:\(socket)")
        #expect(try TestClient(port: daemon.port).roundTrip(Array("tcp".utf8)))
        #expect(try TestClient(unixPath: socket).roundTrip(Array("unix".utf8)))
    }

    @Test func fileArrayServesEveryAddress() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("f")
        let config = directory.file("c.json")
        try #"{"listen": ["unix:\#(socket)", "127.0.0.1:0"]}"#.write(toFile: config, atomically: false, encoding: .utf8)
        let daemon = try Daemon.started(["--config", config], listeners: 2)
        #expect(daemon.listeningAddresses.first == "unix:\(socket)")
        #expect(daemon.port == 0, "the first line is the Unix socket's, which has no port")
        let tcp = try #require(daemon.listeningAddresses.last?.split(separator: ":").last.flatMap { Int($0) })
        #expect(try TestClient(port: tcp).roundTrip(Array("tcp".utf8)))
        #expect(try TestClient(unixPath: socket).roundTrip(Array("unix".utf8)))
    }

    @Test(arguments: [
        (["--listen", "127.0.0.1:0", "--port", "0"], [:], "'--listen' and '--port'"),
        (["--host", "127.0.0.1"], ["ECHO_LISTEN": "127.0.0.1:0"], "'ECHO_LISTEN' and '--host'"),
    ] as [([String], [String: String], String)])
    func listenWithHostOrPortExitsWithUsage(arguments: [String], environment: [String: String], names: String) throws {
        let run = try Daemon.run(arguments, environment: environment)
        #expect(run.termination == .exited(64))
        #expect(run.stderr.hasPrefix("Error: \(names) cannot be combined"), "\(run.stderr)")
        #expect(!run.stderr.contains("listening on"))
    }

    @Test(arguments: ListenAddressTests.refusals)
    func badListenValuesExitWithUsage(text: String, problem: String) throws {
        let run = try Daemon.run(["--listen", "127.0.0.1:0", "--listen", text])
        #expect(run.termination == .exited(64))
        let first = run.stderr.split(separator: "\n").first ?? ""
        #expect(first.hasPrefix("Error: The value ") && first.contains("'--listen': \(problem);"), "\(run.stderr)")
        #expect(!run.stderr.contains("listening on"), "nothing is bound on a usage error")
    }

    @Test func anAddressThatCannotBeBoundExitsUnavailable() throws {
        let held = try HeldPort()
        let run = try Daemon.run(["--listen", "127.0.0.1:0", "--listen", "127.0.0.1:\(held.port)"])
        #expect(run.termination == .exited(69))
        #expect(run.stderr.contains("Error: cannot listen on 127.0.0.1:\(held.port): bind(127.0.0.1:\(held.port)): Address already in use"),
                "\(run.stderr)")
        #expect(!run.stderr.contains("listening on"), "the first listener is closed unannounced")
    }
}

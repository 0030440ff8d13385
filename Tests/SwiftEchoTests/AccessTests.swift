import Glibc
import Testing
@testable import SwiftEcho

/// Who may connect: `--allow` and `--max-connections-per-ip`, end to end over loopback
/// (127.0.0.2 stands in for a second client address).
@Suite struct AccessTests {
    /// Clients outside the allow list: TCP closed at accept, datagrams dropped, every one
    /// counted, and the log says so once, not once per attempt.
    @Test func anAllowListWithoutTheClientRefusesTCPAndUDP() throws {
        let daemon = try Daemon.serving(["--udp", "--allow", "10.0.0.0/8"])
        let attempts = 10
        for _ in 0..<attempts {
            let client = try TestClient(port: daemon.port)
            #expect(client.outcome(within: 2) == .closed)
        }
        let udp = try UDPClient(port: daemon.port)
        for i in 0..<attempts { try udp.send([UInt8(i)]) }
        #expect(udp.receive(timeout: 0.3) == nil)
        let stats = try daemon.stats()
        #expect(stats["refused.not_allowed"] == UInt64(attempts) && stats["accepted"] == 0)
        #expect(stats["udp.dropped.not_allowed"] == UInt64(attempts) && stats["udp.out"] == 0)
        let refusalLine = daemon.stderr.split(separator: "\n").first { $0.contains("refused connection: address not allowed") }
        #expect(refusalLine?.contains(" notice echo-cli: ") == true, "a refusal by policy is a notice: \(refusalLine ?? "none")")
        let tcpLines = daemon.stderr.components(separatedBy: "refused connection: address not allowed").count - 1
        let udpLines = daemon.stderr.components(separatedBy: "dropped datagram: address not allowed").count - 1
        #expect(tcpLines >= 1 && tcpLines + udpLines <= 3, "\(tcpLines) + \(udpLines) lines for \(2 * attempts) refusals")
        daemon.expectDescriptorsAtBaseline()
    }

    @Test func anAllowListWithTheClientAdmitsIt() throws {
        let daemon = try Daemon.serving(["--udp", "--allow", "fd00::/8", "--allow", "127.0.0.0/8"])
        let client = try TestClient(port: daemon.port)
        #expect(try client.roundTrip(Payload.random(count: 3000, seed: 1)))
        let udp = try UDPClient(port: daemon.port, source: "127.0.0.2")
        #expect(try udp.roundTrip([1, 2]) == [1, 2])
        client.close()
        let stats = try daemon.stats()
        #expect(stats["refused.not_allowed"] == 0 && stats["udp.dropped.not_allowed"] == 0)
        daemon.expectDescriptorsAtBaseline()
    }

    /// On a dual-stack socket an IPv4 client arrives as ::ffff:127.0.0.1 and must match the
    /// IPv4 range; ::1 is outside it.
    @Test(.enabled(if: hasIPv6Loopback, "this machine has no IPv6 loopback"))
    func aMappedClientOnADualStackSocketMatchesIPv4Ranges() throws {
        let daemon = try Daemon.serving(["--host", "::", "--udp", "--allow", "127.0.0.1"])
        let v4 = try TestClient(host: "127.0.0.1", port: daemon.port)
        #expect(try v4.roundTrip([1, 2, 3]))
        let udp = try UDPClient(host: "127.0.0.1", port: daemon.port)
        #expect(try udp.roundTrip([4, 5]) == [4, 5])
        let v6 = try TestClient(host: "::1", port: daemon.port)
        #expect(v6.outcome(within: 2) == .closed)
        #expect(try daemon.stats()["refused.not_allowed"] == 1)
    }

    @Test func thePerAddressLimitClosesTheNextConnection() throws {
        let daemon = try Daemon.serving(["--max-connections-per-ip", "2"])
        let served = try (0..<2).map { _ in try TestClient(port: daemon.port) }
        for client in served { #expect(try client.roundTrip([1])) }
        let third = try TestClient(port: daemon.port)
        #expect(third.outcome(within: 2) == .closed)
        let elsewhere = try TestClient(port: daemon.port, source: "127.0.0.2")
        #expect(try elsewhere.roundTrip([2]), "another address has a count of its own")
        #expect(try daemon.stats()["refused.per_ip"] == 1)
        #expect(daemon.waitForOutput(containing: "refused connection: too many connections from this address", timeout: 5))

        served[0].close()  // its count is released: one more fits
        #expect(waitUntil(timeout: 2) { (try? daemon.stats()["active"]) == 2 })
        let next = try TestClient(port: daemon.port)
        #expect(try next.roundTrip([3]))
        (served + [third, elsewhere, next]).forEach { $0.close() }
        daemon.expectDescriptorsAtBaseline()
    }

    /// IPv4-mapped clients count as their IPv4 address: on a dual-stack socket the limit holds.
    @Test(.enabled(if: hasIPv6Loopback, "this machine has no IPv6 loopback"))
    func mappedClientsCountAsTheirIPv4Address() throws {
        let daemon = try Daemon.serving(["--host", "::", "--max-connections-per-ip", "1"])
        let first = try TestClient(host: "127.0.0.1", port: daemon.port)
        #expect(try first.roundTrip([1]))
        let second = try TestClient(host: "127.0.0.1", port: daemon.port)
        #expect(second.outcome(within: 2) == .closed)
        #expect(try daemon.stats()["refused.per_ip"] == 1)
    }

    /// Two loops, connections dealt to them in turn: the per-address count is the process's,
    /// not each loop's, and UDP (served by the first loop) works beside them.
    @Test func thePerAddressLimitHoldsAcrossLoops() throws {
        var configuration = Configuration(port: 0, threads: 2)
        configuration.maxConnectionsPerIP = 4
        configuration.udp = true
        let server = EchoServer(configuration: configuration, hook: nil, logger: quietLogger,
                                handsOffConnections: true)  // strictly in turn: both loops certainly serve
        try server.start()
        defer { try? server.stopAndWait() }
        let served = try (0..<4).map { _ in try TestClient(port: server.port) }
        for client in served { #expect(try client.roundTrip([1])) }
        #expect(server.statsPerLoop.map(\.accepted) == [2, 2])
        let fifth = try TestClient(port: server.port)
        #expect(fifth.outcome(within: 2) == .closed)
        #expect(server.stats.refusedPerIP == 1)
        let udp = try UDPClient(port: server.port)
        #expect(try udp.roundTrip([7]) == [7])
        #expect(server.statsPerLoop.map(\.udpOut) == [1, 0])
        served[3].close()  // closed on the second loop, released for both
        #expect(waitUntil(timeout: 2) { server.stats.active == 3 })
        let next = try TestClient(port: server.port)
        #expect(try next.roundTrip([2]))
        (served + [fifth, next]).forEach { $0.close() }
    }

    @Test(arguments: [
        (["--allow", "10.0.0.0/33"], "10.0.0.0/33"),
        (["--allow", "10.0.0.1/8"], "10.0.0.1/8"),
        (["--allow", "300.1.2.3"], "300.1.2.3"),
        (["--allow", "::1/129"], "::1/129"),
        (["--allow", "10.0.0.0/"], "10.0.0.0/"),
        (["--allow", "127.0.0.1", "--allow", "localhost"], "localhost"),
        (["--max-connections-per-ip", "-1"], "-1"),
        (["--max-connections-per-ip", "many"], "many"),
    ])
    func badValuesExitWithUsage(arguments: [String], value: String) throws {
        let run = try Daemon.run(arguments)
        #expect(run.termination == .exited(64))
        let first = run.stderr.split(separator: "\n").first ?? ""
        let setting = arguments[arguments.count - 2]
        #expect(first.hasPrefix("Error: ") && first.contains("'\(setting)'") && first.contains("'\(value)'"),
                "\(run.stderr)")
        #expect(!run.stderr.contains("listening on"))
    }

    @Test func allowIsRepeatableInEverySource() throws {
        let both = ["10.0.0.0/8", "::1"]
        #expect(try configuration(["--allow", "10.0.0.0/8", "--allow=::1"]).allow == both)
        #expect(try configuration([], environment: ["ECHO_ALLOW": "10.0.0.0/8, ::1"]).allow == both)
        #expect(try configuration(["--config", "x.json"], files: ["x.json": #"{"allow": ["10.0.0.0/8", "::1"]}"#]).allow == both)
        #expect(try configuration(["--allow", "::ffff:10.0.0.0/104", "--allow", "0.0.0.0/0"]).allow.count == 2)
    }

    @Test func aBadRangeInTheEnvironmentNamesTheVariable() throws {
        let run = try Daemon.run([], environment: ["ECHO_ALLOW": "127.0.0.0/8, 10.0.0.0/40"])
        #expect(run.termination == .exited(64))
        #expect(run.stderr.contains("ECHO_ALLOW") && run.stderr.contains("10.0.0.0/40"))
    }
}

import Foundation
import Glibc
@testable import SwiftEcho
import Testing

/// Two echo-cli instances behind Debian's haproxy, on loopback, as a fleet runs: health checks
/// on `/readyz`, a graceful stop taking one out of rotation, a killed one marked down.
@Suite(.serialized, .enabled(if: Tool.runs("haproxy"), "haproxy is not installed (Debian package haproxy; .ci/run installs it)"))
struct FleetTests {
    /// The instances and the balancer in front of them.
    struct Fleet {
        let instances: [Daemon]
        let haproxy: HAProxy

        /// `count` instances started with `arguments` (and `--metrics` on a free port each),
        /// behind haproxy with `serverOptions`.
        init(count: Int = 2, arguments: [String] = [], serverOptions: String = "") throws {
            instances = try (0..<count).map { _ in
                try Daemon.serving(["--metrics", "127.0.0.1:0"] + arguments)
            }
            let servers = try instances.enumerated().map { index, daemon in
                guard waitUntil(timeout: 5, { daemon.metricsPort != nil }), let metrics = daemon.metricsPort else {
                    throw TestClientError("no 'metrics on' line:\n\(daemon.stderr)")
                }
                return HAProxy.Server(name: "echo\(index)", port: daemon.port, metricsPort: metrics)
            }
            haproxy = try HAProxy(servers: servers, serverOptions: serverOptions)
        }

        /// Counter `series` (as printed, labels included) of instance `index`, from its /metrics.
        func metric(_ series: String, of index: Int) throws -> Double {
            let port = try #require(instances[index].metricsPort)
            let body = try httpGet(port: port, "/metrics").body
            return try #require(MetricsEndpointTests.value(series, in: body), "no \(series) in /metrics")
        }

        /// A new client through the balancer that echoes one message; throws on any error.
        func roundTrip(_ text: String) throws {
            let client = try TestClient(port: haproxy.port)
            defer { client.close() }
            do {
                guard try client.roundTrip(Array(text.utf8)) else { throw TestClientError("wrong echo for \(text)") }
            } catch {
                throw TestClientError("\(error); haproxy: \(haproxy.statuses()) \(haproxy.process.stderr)\(haproxy.process.stdout)")
            }
        }
    }

    static let accepted = "echo_connections_accepted_total{loop=\"0\"}"

    /// SIGTERM to one instance started with `--drain-delay`: from that moment /readyz says 503
    /// and haproxy takes it out while it still accepts; then its listeners close. The clients
    /// it serves get every byte it read, then a clean end; every new client is served, with no
    /// error, during the change and after it, by the other once the first is out.
    @Test func aGracefulStopTakesAnInstanceOutOfRotation() throws {
        let fleet = try Fleet(arguments: ["--shutdown-timeout", "10", "--drain-delay", "1.5"])
        let clients = try (0..<4).map { _ in try TestClient(port: fleet.haproxy.port) }
        for (index, client) in clients.enumerated() { #expect(try client.roundTrip(Array("hello \(index)".utf8))) }
        let messages = (0..<4).map { Array("in flight \($0) ".utf8) + Payload.random(count: 20_000, seed: UInt64($0 + 1)) }
        for (client, message) in zip(clients, messages) { try client.send(message) }
        fleet.instances[0].send(signal: SIGTERM)
        for index in 0..<5 { try fleet.roundTrip("during the change \(index)") }
        for (client, message) in zip(clients, messages) {
            #expect(try client.receive(exactly: message.count) == message)
        }
        #expect(waitUntil(timeout: 5) { fleet.haproxy.status(of: "echo0") == "DOWN" },
                "haproxy still has the draining instance: \(fleet.haproxy.statuses())")
        let acceptedByTheOther = try fleet.metric(Self.accepted, of: 1)
        for index in 0..<5 { try fleet.roundTrip("after the change \(index)") }
        #expect(try fleet.metric(Self.accepted, of: 1) == acceptedByTheOther + 5)
        // The drained instance's clients see a clean end (FIN, no reset), then it exits 0.
        clients.forEach { $0.shutdownWrite() }
        for client in clients { _ = try client.receiveUntilEOF() }
        #expect(fleet.instances[0].waitForExit(timeout: 10) == .exited(0))
        #expect(fleet.instances[0].stderr.contains("draining: not ready, the listeners close in 1.5 s"))
        clients.forEach { $0.close() }
    }

    /// SIGKILL to one instance: haproxy's checks mark it down, and new clients are served by
    /// the survivor. (Connections the kernel had queued for the killed one are lost with it:
    /// no balancer can help those.)
    @Test func aKilledInstanceIsMarkedDownAndTheSurvivorServes() throws {
        let fleet = try Fleet()
        fleet.instances[1].send(signal: SIGKILL)
        #expect(fleet.instances[1].waitForExit(timeout: 5) == .signaled(SIGKILL))
        #expect(waitUntil(timeout: 5) { fleet.haproxy.status(of: "echo1") == "DOWN" },
                "haproxy still has the killed instance: \(fleet.haproxy.statuses())")
        let acceptedBefore = try fleet.metric(Self.accepted, of: 0)
        for index in 0..<10 { try fleet.roundTrip("once it is down \(index)") }
        #expect(try fleet.metric(Self.accepted, of: 0) == acceptedBefore + 10)
    }

    /// With send-proxy (v1) and send-proxy-v2, the instances see each client's own address:
    /// an `--allow` that excludes it refuses it, `--max-connections-per-ip` counts it, and the
    /// logs name it with the balancer beside it.
    @Test(arguments: ["send-proxy", "send-proxy-v2"])
    func theInstancesSeeTheClientsOwnAddress(serverOption: String) throws {
        let fleet = try Fleet(arguments: ["--proxy-protocol", "--allow", "127.0.0.2", "--allow", "127.0.0.3",
                                          "--max-connections-per-ip", "1", "--log-level", "debug"],
                              serverOptions: serverOption)
        func total(_ series: String) throws -> Double { try (0..<2).map { try fleet.metric(series, of: $0) }.reduce(0, +) }
        // Round robin over two instances: the third connection of one client finds its
        // instance holding that client's one connection already.
        let held = try (0..<2).map { _ in try TestClient(port: fleet.haproxy.port, source: "127.0.0.2") }
        for client in held { #expect(try client.roundTrip(Array("mine".utf8))) }
        let third = try TestClient(port: fleet.haproxy.port, source: "127.0.0.2")
        try? third.send([1])
        #expect(third.outcome(within: 3) == .closed)
        let other = try TestClient(port: fleet.haproxy.port, source: "127.0.0.3")  // another client: served
        #expect(try other.roundTrip(Array("theirs".utf8)))
        let stranger = try TestClient(port: fleet.haproxy.port, source: "127.0.0.4")
        try? stranger.send([2])
        #expect(stranger.outcome(within: 3) == .closed)
        let perIP = "echo_connections_refused_total{loop=\"0\",reason=\"per_ip\"}"
        let notAllowed = "echo_connections_refused_total{loop=\"0\",reason=\"not_allowed\"}"
        // At least once each (haproxy may retry a refused connection on the other instance).
        #expect(waitUntil(timeout: 3) { (try? total(perIP)) ?? 0 >= 1 && (try? total(notAllowed)) ?? 0 >= 1 },
                "refused per address \((try? total(perIP)) ?? -1), not allowed \((try? total(notAllowed)) ?? -1)")
        let logs = fleet.instances.map(\.stderr).joined()
        #expect(logs.contains("peer.address=127.0.0.2:") && logs.contains("proxy.address=127.0.0.1:"))
        #expect(logs.contains("peer.address=127.0.0.4:") && logs.contains("refused connection: address not allowed"))
        (held + [other]).forEach { $0.close() }
    }

    /// The sample balancer configuration in contrib/ is one haproxy accepts.
    @Test func theContribConfigurationIsValid() throws {
        let haproxy = try #require(Tool.path("haproxy"))
        let check = try Tool.run(haproxy, ["-c", "-f", contribPath("haproxy/haproxy.cfg")])
        #expect(check.status == 0, "haproxy -c: \(check.output)")
    }
}

/// A file under contrib/ of this checkout.
func contribPath(_ relative: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("contrib/" + relative).path
}

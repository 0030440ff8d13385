import Foundation
import Glibc
@testable import SwiftEcho
import Testing

/// `--proxy-protocol`: every connection begins with a PROXY header from a trusted balancer,
/// and the client it names stands for the peer everywhere. The test client plays the balancer
/// (127.0.0.1), writing the headers HAProxy's send-proxy and send-proxy-v2 write.
@Suite(.serialized) struct ProxyProtocolTests {
    /// `PROXY TCP4 …` for client `source:port` reaching 127.0.0.1:10000.
    static func v1(_ source: String, port: Int = 40000) -> [UInt8] {
        Array("PROXY TCP4 \(source) 127.0.0.1 \(port) 10000\r\n".utf8)
    }

    /// The v2 PROXY command for an IPv4 client `a.b.c.d:port`, with a NOOP TLV.
    static func v2(_ source: [UInt8], port: UInt16 = 40000) -> [UInt8] {
        let body = source + [127, 0, 0, 1] + [UInt8(port >> 8), UInt8(port & 0xff), 0x27, 0x10] + [0x04, 0, 1, 0]
        return ProxyHeaderTests.signature + [0x21, 0x11, 0, UInt8(body.count)] + body
    }

    /// What the hook was told about each connection, in order.
    final class Seen: @unchecked Sendable {
        let connections = Locked<[Connection]>([])
        var all: [Connection] { connections.withLock { $0 } }
    }

    final class Recorder: ConnectionHandler {
        let seen: Seen
        init(_ seen: Seen) { self.seen = seen }
        func connectionOpened(_ connection: Connection) { seen.connections.withLock { $0.append(connection) } }
        func messageReceived(_ message: borrowing Message, reply: inout Reply) { reply.write(message) }
    }

    static func server(_ seen: Seen? = nil, framing: Framing = .raw, sink: CapturingSink = CapturingSink(),
                       _ change: (inout Configuration) -> Void = { _ in }) throws -> EchoServer {
        let hook: Hook = seen.map { seen in .handler { _ in Recorder(seen) } } ?? .echo
        return try startServer(hook, framing: framing, sink: sink) {
            $0.proxyProtocol = true
            change(&$0)
        }
    }

    @Test func theSettingsParse() throws {
        #expect(try configuration(["--proxy-protocol"]).proxyProtocol)
        #expect(try configuration([], environment: ["ECHO_PROXY_PROTOCOL": "true"]).proxyProtocol)
        #expect(Configuration().proxyFrom == ["127.0.0.0/8", "::1/128"] && !Configuration().proxyProtocol)
        #expect(try configuration(["--proxy-from", "10.0.0.0/8", "--proxy-from", "fd00::1"]).proxyFrom == ["10.0.0.0/8", "fd00::1"])
        #expect(refusal(["--proxy-from", "10.0.0.1/8"])?.message.contains("'--proxy-from'") == true)
        #expect(refusal(["--proxy-timeout", "0"])?.message.contains("'--proxy-timeout'") == true)
    }

    @Test func bothVersionsNameTheClientToTheHook() throws {
        let seen = Seen()
        let server = try Self.server(seen)
        defer { try? server.stopAndWait() }
        let first = try TestClient(port: server.port)
        try first.send(Self.v1("192.0.2.7", port: 5555) + Array("hello".utf8))  // one write: header and message
        #expect(try first.receive(exactly: 5) == Array("hello".utf8))
        let second = try TestClient(port: server.port)
        try second.send(Self.v2([198, 51, 100, 9], port: 6666))
        #expect(try second.roundTrip(Array("again".utf8)))
        let connections = seen.all
        #expect(connections.map(\.peerAddress) == ["192.0.2.7:5555", "198.51.100.9:6666"])
        #expect(connections.allSatisfy { $0.proxyAddress?.hasPrefix("127.0.0.1:") == true })
        first.close()
        second.close()
    }

    /// A header that arrives a byte at a time, and one followed by a message in the same write,
    /// with the C echo and with line framing: nothing lost, nothing answered before its time.
    @Test(arguments: [Framing.raw, .line])
    func aHeaderCutAnywhereStillWorks(framing: Framing) throws {
        let server = try Self.server(framing: framing)
        defer { try? server.stopAndWait() }
        let client = try TestClient(port: server.port)
        for byte in Self.v2([192, 0, 2, 1]) + Array("ab\n".utf8) {
            try client.send([byte])
            usleep(500)
        }
        #expect(try client.receive(exactly: 3) == Array("ab\n".utf8))
        client.close()
        let other = try TestClient(port: server.port)
        try other.send(Self.v1("192.0.2.2") + Array("cd\n".utf8) + Array("ef\n".utf8))
        #expect(try other.receive(exactly: 6) == Array("cd\nef\n".utf8))
        other.close()
    }

    /// v2 LOCAL (a balancer's own health check) and v1 UNKNOWN are served as the balancer.
    @Test func localAndUnknownKeepTheBalancersAddress() throws {
        let seen = Seen()
        let server = try Self.server(seen)
        defer { try? server.stopAndWait() }
        let local = try TestClient(port: server.port)
        try local.send(ProxyHeaderTests.signature + [0x20, 0x00, 0, 0])
        #expect(try local.roundTrip([1]))
        let unknown = try TestClient(port: server.port)
        try unknown.send(Array("PROXY UNKNOWN\r\n".utf8))
        #expect(try unknown.roundTrip([2]))
        #expect(seen.all.allSatisfy { $0.peerAddress.hasPrefix("127.0.0.1:") && $0.proxyAddress == nil })
        #expect(seen.all.count == 2)
        local.close()
        unknown.close()
    }

    /// `--allow` and `--max-connections-per-ip` see the client the header names, not the
    /// balancer every connection comes from.
    @Test func theAllowListAndThePerAddressLimitSeeTheClient() throws {
        let sink = CapturingSink()
        let server = try Self.server(sink: sink) {
            $0.allow = ["192.0.2.0/24"]
            $0.maxConnectionsPerIP = 1
        }
        defer { try? server.stopAndWait() }
        let outside = try TestClient(port: server.port)
        try outside.send(Self.v1("203.0.113.5"))
        #expect(outside.outcome(within: 2) == .closed)
        let first = try TestClient(port: server.port)
        try first.send(Self.v1("192.0.2.7"))
        #expect(try first.roundTrip([1]))
        let again = try TestClient(port: server.port)
        try again.send(Self.v2([192, 0, 2, 7]))
        #expect(again.outcome(within: 2) == .closed)
        let other = try TestClient(port: server.port)
        try other.send(Self.v1("192.0.2.8"))
        #expect(try other.roundTrip([2]))
        first.close()
        #expect(waitUntil(timeout: 2) { server.stats.active == 1 })
        let back = try TestClient(port: server.port)  // its count went back with the first
        try back.send(Self.v1("192.0.2.7"))
        #expect(try back.roundTrip([3]))
        let stats = server.stats
        #expect(stats.refusedNotAllowed == 1 && stats.refusedPerIP == 1)
        let lines = sink.lines
        // The refusal names the client, and the balancer it came through (the second refusal,
        // within the same second, is counted but not logged).
        #expect(lines.contains {
            $0.contains("refused connection: address not allowed") && $0.contains("peer.address=203.0.113.5:40000")
                && $0.contains("proxy.address=127.0.0.1:")
        }, "\(lines)")
        [other, back].forEach { $0.close() }
    }

    /// Only the balancers of --proxy-from may name a client: anyone else is closed at accept.
    @Test func aPeerOutsideProxyFromIsClosedAtOnce() throws {
        let seen = Seen()
        let server = try Self.server(seen) { $0.proxyFrom = ["10.0.0.0/8"] }
        defer { try? server.stopAndWait() }
        let client = try TestClient(port: server.port)
        try? client.send(Self.v1("192.0.2.7"))
        #expect(client.outcome(within: 2) == .closed)
        #expect(server.stats.refusedProxyUntrusted == 1 && server.stats.accepted == 0 && seen.all.isEmpty)
    }

    /// A missing or malformed header, a FIN before it is whole, and one not whole within
    /// --proxy-timeout: closed and counted, never served, never told to the hook.
    @Test func badHeadersAreClosedAndCounted() throws {
        let seen = Seen()
        let server = try Self.server(seen) { $0.proxyTimeout = .milliseconds(300) }
        defer { try? server.stopAndWait() }
        for bad in ["HELLO\r\n", "PROXY TCP4 192.0.2.7 127.0.0.1 40000 10000\n",
                    "PROXY TCP4 " + String(repeating: "1", count: 120)] {
            let client = try TestClient(port: server.port)
            try client.send(Array(bad.utf8))
            #expect(client.outcome(within: 2) == .closed, "\(bad.debugDescription)")
        }
        let quitter = try TestClient(port: server.port)
        try quitter.send(Array("PROXY TCP4".utf8))
        quitter.shutdownWrite()
        #expect(quitter.outcome(within: 2) == .closed)
        let slow = try TestClient(port: server.port)
        try slow.send(Array("PROXY TCP4 192".utf8))
        let started = monotonicSeconds()
        #expect(slow.outcome(within: 3) == .closed)
        #expect(monotonicSeconds() - started > 0.2)
        #expect(waitUntil(timeout: 2) { server.stats.closed == 5 })
        let stats = server.stats
        #expect(stats.proxyInvalid == 4 && stats.proxyTimeouts == 1 && stats.messages == 0)
        #expect(seen.all.isEmpty)
    }

    /// A Unix-socket listener behind a local balancer: the header names the client too.
    @Test func aUnixListenerTakesHeadersToo() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("echo.sock")
        let seen = Seen()
        let server = try Self.server(seen) { $0.listen = [.unix(path: path)] }
        defer { try? server.stopAndWait() }
        let client = try TestClient(unixPath: path)
        try client.send(Self.v1("192.0.2.44") + [9])
        #expect(try client.receive(exactly: 1) == [9])
        #expect(seen.all.first?.peerAddress == "192.0.2.44:40000")
        #expect(seen.all.first?.proxyAddress == "unix:\(path)")
        client.close()
    }
}

import Foundation
import Glibc
import Testing
import cecho
@testable import SwiftEcho

/// UDP echo (RFC 862) and its protection against reflection and amplification, end to end:
/// the daemon on loopback, real datagrams, the counters of the `stats` line.
@Suite struct UDPTests {
    @Test func echoesDatagramsOfEverySizeOnTheTCPPort() throws {
        let daemon = try Daemon.serving(["--udp"])
        #expect(daemon.waitForOutput(containing: "listening on 127.0.0.1:\(daemon.port) (udp), backend", timeout: 5))
        let client = try UDPClient(port: daemon.port)
        let sizes = [0, 1, 512, 1472, 9000, 65507]
        for (seed, size) in sizes.enumerated() {
            let payload = Payload.random(count: size, seed: UInt64(seed))
            #expect(try client.roundTrip(payload) == payload, "a datagram of \(size) bytes")
        }
        let tcp = try TestClient(port: daemon.port)
        #expect(try tcp.roundTrip([1, 2, 3]), "TCP still serves the same port")
        tcp.close()
        let stats = try daemon.stats()
        #expect(stats["udp.in"] == UInt64(sizes.count) && stats["udp.out"] == UInt64(sizes.count))
        #expect(stats["bytes.in"] == UInt64(sizes.reduce(0, +) + 3))
        daemon.expectDescriptorsAtBaseline()
    }

    @Test func withoutTheFlagThereIsNoUDP() throws {
        let daemon = try Daemon.serving([])
        #expect(!daemon.stderr.contains("(udp)"))
        let client = try UDPClient(port: daemon.port)
        #expect(try client.roundTrip([1, 2, 3], timeout: 0.3) == nil)
    }

    /// A hook sees each datagram as one message, whatever the framing; no terminator is added.
    @Test func aHookAnswersEachDatagramAsOneMessage() throws {
        let daemon = try Daemon.serving(["--udp", "--framing", "line", "--hook", "upper"])
        let client = try UDPClient(port: daemon.port)
        #expect(try client.roundTrip(Array("abc\ndef".utf8)) == Array("ABC\nDEF".utf8))
        #expect(try client.roundTrip(Array("no newline".utf8)) == Array("NO NEWLINE".utf8))
        let large = [UInt8](repeating: UInt8(ascii: "q"), count: 65507)
        #expect(try client.roundTrip(large) == [UInt8](repeating: UInt8(ascii: "Q"), count: 65507))
    }

    /// Amplification: a reply larger than its datagram is never sent, only counted.
    @Test func aReplyLargerThanItsDatagramIsDroppedAndCounted() throws {
        let daemon = try Daemon.serving(["--udp", "--hook", "prefix:>> "])
        let client = try UDPClient(port: daemon.port)
        #expect(try client.roundTrip(Array("hello".utf8), timeout: 0.5) == nil)
        #expect(try daemon.stats()["udp.dropped.too_large"] == 1)
        #expect(daemon.waitForOutput(containing: "dropped datagram: reply larger than its datagram", timeout: 5))
        let tcp = try TestClient(port: daemon.port)  // TCP has no such rule
        try tcp.send(Array("hello".utf8))
        #expect(try tcp.receive(exactly: 8) == Array(">> hello".utf8))
    }

    /// Ping-pong with another echo service: port 7 (or 13, 17, 19, 0) never gets a reply.
    @Test(.enabled(if: UDPClient.canBind(port: 7), "binding source port 7 needs root (or CAP_NET_BIND_SERVICE)"))
    func aReflectorSourcePortGetsNoReply() throws {
        let daemon = try Daemon.serving(["--udp"])
        let reflector = try UDPClient(port: daemon.port, source: "127.0.0.1", sourcePort: 7)
        #expect(try reflector.roundTrip([1, 2, 3], timeout: 0.5) == nil)
        let ordinary = try UDPClient(port: daemon.port)
        #expect(try ordinary.roundTrip([4, 5, 6]) == [4, 5, 6])
        let stats = try daemon.stats()
        #expect(stats["udp.dropped.port"] == 1 && stats["udp.in"] == 2 && stats["udp.out"] == 1)
        #expect(daemon.waitForOutput(containing: "dropped datagram: source port of a reflecting service", timeout: 5))
    }

    /// A burst of three times the rate from one address gets about the rate in replies (the
    /// bucket's burst, plus what refilled while the burst was sent); another address is not
    /// affected.
    @Test func repliesAreRateLimitedPerSourceAddress() throws {
        let rate = 50
        let daemon = try Daemon.serving(["--udp", "--udp-rate", "\(rate)"])
        let client = try UDPClient(port: daemon.port)
        let started = monotonicSeconds()
        for i in 0..<(3 * rate) { try client.send([UInt8(i & 0xff)]) }
        let sending = monotonicSeconds() - started
        let replies = client.countReplies(quiet: 0.5 * Sanitizer.slowdown)
        // Refill while sending is bounded by the time the sends took (the server may read later,
        // but each datagram it reads is charged at its own time: allow a second's refill).
        #expect(replies >= rate && replies <= rate + Int(Double(rate) * (sending + 1)),
                "\(replies) replies to \(3 * rate) datagrams in \(sending) s")
        let stats = try daemon.stats()
        #expect(stats["udp.dropped.rate"] == stats["udp.in"]! - UInt64(replies))
        #expect(stats["udp.dropped.rate"]! >= UInt64(rate) / 2)
        let lines = daemon.stderr.components(separatedBy: "over the reply rate").count - 1
        #expect(lines >= 1 && lines <= 3, "rate-limited log, not one line per drop: \(lines)")
    }

    /// The log's limit of a line a second is per kind of drop: a datagram over the rate right
    /// after one whose reply was too large still gets its line (one shared limit hid it).
    @Test func eachKindOfDropIsLogged() throws {
        let daemon = try Daemon.serving(["--udp", "--udp-rate", "1", "--hook", "prefix:>"])
        let client = try UDPClient(port: daemon.port)
        try client.send([1])  // takes the one token; its reply is larger than the datagram
        try client.send([2])  // over the rate, in the same second
        #expect(client.receive(timeout: 0.3) == nil)
        let stats = try daemon.stats()
        #expect(stats["udp.dropped.too_large"] == 1 && stats["udp.dropped.rate"] == 1)
        #expect(daemon.waitForOutput(containing: "dropped datagram: reply larger than its datagram", timeout: 5))
        #expect(daemon.waitForOutput(containing: "dropped datagram: over the reply rate", timeout: 5), "\(daemon.stderr)")
    }

    /// One reply a second: a second datagram at once gets none, but another address gets
    /// its own (127.0.0.2 and 127.0.0.1 are two sources).
    @Test func eachSourceAddressHasABucketOfItsOwn() throws {
        let daemon = try Daemon.serving(["--udp", "--udp-rate", "1"])
        let first = try UDPClient(port: daemon.port)
        #expect(try first.roundTrip([1]) == [1])
        // Both sent before one short wait, well inside the second the bucket takes to refill.
        let sameAddress = try UDPClient(port: daemon.port)
        try first.send([2])
        try sameAddress.send([3])
        #expect(first.receive(timeout: 0.3) == nil)
        #expect(sameAddress.receive(timeout: 0) == nil, "the bucket is the address's, not the socket's")
        let other = try UDPClient(port: daemon.port, source: "127.0.0.2")
        #expect(try other.roundTrip([4]) == [4])
        #expect(try daemon.stats()["udp.dropped.rate"] == 2)
    }

    /// Socket activation (`ListenDatagram=`): a passed UDP socket is served beside a passed
    /// TCP listener, under the same protections as --udp (here: the reply rate).
    @Test func aPassedUDPSocketIsServedWithTheSameProtections() throws {
        let tcp = try HeldPort()
        let udp = try UDPClient(port: 9, source: "127.0.0.1")
        let port = localPort(udp.fd)
        let daemon = try Daemon(["--udp-rate", "1"], environment: ["LISTEN_FDS": "2"],
                                shellPrefix: "export LISTEN_PID=$$", passing: [tcp.fd, udp.fd])
        #expect(daemon.waitForOutput(containing: "listening on 127.0.0.1:\(port) (udp)", timeout: 10), "\(daemon.stderr)")
        let client = try UDPClient(port: port)
        #expect(try client.roundTrip([1, 2]) == [1, 2])
        #expect(try client.roundTrip([3], timeout: 0.3) == nil, "one reply a second")
        let stream = try TestClient(port: tcp.port)
        #expect(try stream.roundTrip([4]))
        stream.close()
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
        #expect(daemon.stderr.contains("udp.dropped.rate=1"))
    }

    /// A hook with a handler per datagram: opened, message, closed, and a reply deferred to a
    /// task still goes out. In process, so the handler's calls can be watched.
    @Test func aDeferredReplyIsSentAndEachDatagramIsAConnection() throws {
        let events = Locked<[String]>([])
        let server = try startServer(.handler { _ in LaterHandler(events: events) }) { configuration in
            configuration.udp = true
        }
        defer { try? server.stopAndWait() }
        #expect(server.udpAddresses.map { $0.port } == [server.port])
        let client = try UDPClient(port: server.port)
        #expect(try client.roundTrip(Array("now".utf8)) == Array("NOW".utf8))
        #expect(try client.roundTrip(Array("later".utf8)) == Array("later".utf8))
        #expect(try client.roundTrip(Array("later, longer than it".utf8), timeout: 0.5) == nil,
                "a deferred reply larger than its datagram is dropped too")
        #expect(waitUntil(timeout: 2) { server.stats.udpTooLarge == 1 })
        #expect(waitUntil(timeout: 2) { events.withLock { $0.count } == 9 })
        #expect(events.withLock { $0 } == Array(repeating: ["opened", "message", "closed: datagram answered"], count: 3).flatMap { $0 })
    }

    /// A loop keeps at most 64 senders waiting for a deferred reply (CE_UDP_PENDING). Past
    /// them a deferral is refused, and the hook is told: a handle's `send` returns false, and
    /// nothing goes out. The 64 kept are answered.
    @Test func aDeferralNobodyWaitsForIsRefusedToItsHandle() throws {
        let holder = HoldingHandler()
        let server = try startServer(.handler { _ in holder }) { $0.udp = true }
        defer { try? server.stopAndWait() }
        let client = try UDPClient(port: server.port)
        for index in 0..<70 { try client.send(Array("datagram \(index)".utf8)) }
        // `closed` comes after a refusal is counted and its handle abandoned.
        #expect(waitUntil(timeout: 5) { holder.closed.withLock { $0 } == 70 })
        #expect(server.stats.udpDeferredRefused == 6)
        let sent = holder.handles.withLock { $0 }.map { $0.send("ok") }  // no longer than its datagram
        #expect(sent == Array(repeating: true, count: 64) + Array(repeating: false, count: 6))
        var answers: [[UInt8]] = []
        while answers.count < 64, let answer = client.receive(timeout: 5) { answers.append(answer) }
        #expect(answers == Array(repeating: Array("ok".utf8), count: 64))
        #expect(client.receive(timeout: 0.3) == nil, "a refused deferral sent nothing")
        #expect(server.stats.lateReplies == 0)
    }

    /// The same for async hooks, whose tasks the server owns: a refused datagram's task is
    /// cancelled at once, and no more than 64 run per loop.
    @Test func anAsyncDatagramNobodyWaitsForIsCancelled() throws {
        let hook = NeverAnsweringHook()
        let server = try startServer(hook.hook) { $0.udp = true }
        defer { try? server.stopAndWait() }
        let client = try UDPClient(port: server.port)
        for index in 0..<70 { try client.send(Array("\(index)".utf8)) }
        #expect(waitUntil(timeout: 5) { hook.started.withLock { $0 } == 70 })
        #expect(waitUntil(timeout: 5) { hook.cancelled.withLock { $0 }.count == 6 })
        #expect(server.stats.udpDeferredRefused == 6)
        #expect(waitUntil(timeout: 5) { server.hookTasks.count == 64 }, "\(server.hookTasks.count) tasks")
    }

    /// A sender waits at most 30 s (CE_UDP_PENDING_MS): its entry is then free for a newer
    /// datagram, and an async hook's 65th task awaited on the loop cancels the oldest, whose
    /// answer could no longer go out. 31 s long, beside the other suites.
    @Test func anAsyncDatagramPastItsWaitIsCancelledWhenANewOneNeedsItsPlace() throws {
        let hook = NeverAnsweringHook()
        let server = try startServer(hook.hook) { $0.udp = true }
        defer { try? server.stopAndWait() }
        let client = try UDPClient(port: server.port)
        for index in 0..<64 { try client.send(Array("\(index)".utf8)) }
        #expect(waitUntil(timeout: 5) { hook.started.withLock { $0 } == 64 })
        Thread.sleep(forTimeInterval: Double(CE_UDP_PENDING_MS) / 1000 + 0.5)
        #expect(hook.cancelled.withLock { $0 }.isEmpty, "nothing is cancelled before a newer datagram needs the place")
        try client.send(Array("newer".utf8))
        #expect(waitUntil(timeout: 5) { hook.cancelled.withLock { $0 } == ["0"] })
        #expect(server.stats.udpDeferredRefused == 0)
        #expect(waitUntil(timeout: 5) { server.hookTasks.count == 64 }, "\(server.hookTasks.count) tasks")
    }

    @Test func theUDPFlagFromEverySource() throws {
        #expect(try configuration(["--udp"]).udp)
        #expect(try configuration([]).udp == false)
        #expect(try configuration([], environment: ["ECHO_UDP": "true"]).udp)
        #expect(try configuration(["--config", "x.json"], files: ["x.json": #"{"udp": true}"#]).udp)
        #expect(try configuration(["--config", "x.json"], files: ["x.json": #"{"udp": false}"#]).udp == false)
    }

    @Test(arguments: [
        (["--udp-rate", "0"], "'--udp-rate'", "0"),
        (["--udp-rate", "1000001"], "'--udp-rate'", "1000001"),
        (["--udp=yes"], "'--udp'", "does not take a value"),
    ])
    func badUDPValuesExitWithUsage(arguments: [String], setting: String, mention: String) throws {
        let run = try Daemon.run(arguments)
        #expect(run.termination == .exited(64))
        let first = run.stderr.split(separator: "\n").first ?? ""
        #expect(first.hasPrefix("Error: ") && first.contains(setting) && first.contains(mention), "\(run.stderr)")
    }

    @Test func aBadUDPEnvironmentValueExitsWithUsage() throws {
        let run = try Daemon.run([], environment: ["ECHO_UDP": "maybe"])
        #expect(run.termination == .exited(64))
        #expect(run.stderr.contains("ECHO_UDP") && run.stderr.contains("true or false"))
    }

    /// With a port given, a UDP port another program holds is an error like a TCP one. (Tests
    /// running beside this one may take the same TCP port first: then it tries another.)
    @Test func aUDPPortInUseExitsUnavailable() throws {
        for _ in 0..<5 {
            let held = try UDPClient(port: 9, source: "127.0.0.1", sourcePort: 0)
            let port = localPort(held.fd)
            let run = try Daemon.run(["--udp", "--port", "\(port)"])
            #expect(run.termination == .exited(69))
            #expect(!run.stderr.contains("listening on"))
            if run.stderr.contains("bind(127.0.0.1:\(port)): Address already in use") { continue }  // TCP, taken
            #expect(run.stderr.contains("bind(127.0.0.1:\(port), udp): Address already in use"), "\(run.stderr)")
            return
        }
        Issue.record("the TCP port was taken five times")
    }
}

/// Replies in upper case at once, or later (from a task) for messages starting "later".
private final class LaterHandler: ConnectionHandler {
    let events: Locked<[String]>
    init(events: Locked<[String]>) { self.events = events }
    func connectionOpened(_ connection: Connection) { events.withLock { $0.append("opened") } }
    func messageReceived(_ message: borrowing Message, reply: inout Reply) {
        events.withLock { $0.append("message") }
        let text = message.text
        guard text.hasPrefix("later") else { return reply.write(text.uppercased()) }
        let later = reply.replyLater()
        // A thread of its own: the tests block the cooperative pool's few threads.
        Thread.detachNewThread { later.send(text == "later" ? "later" : text + "!") }
    }
    func connectionClosed(_ connection: Connection, reason: CloseReason) {
        events.withLock { $0.append("closed: \(reason)") }
    }
}

/// An async hook whose answers wait ten minutes: it counts the calls, and names the messages
/// whose task was cancelled.
private final class NeverAnsweringHook: Sendable {
    let started = Locked(0)
    let cancelled = Locked<[String]>([])

    var hook: Hook {
        .async { [started, cancelled] message in
            started.withLock { $0 += 1 }
            do {
                try await Task.sleep(for: .seconds(600))
            } catch {
                cancelled.withLock { $0.append(message.text) }
                throw error
            }
            return message.bytes
        }
    }
}

/// Keeps every datagram's deferred reply handle, and counts the datagrams closed.
private final class HoldingHandler: ConnectionHandler, Sendable {
    let handles = Locked<[DeferredReply]>([])
    let closed = Locked(0)
    func messageReceived(_ message: borrowing Message, reply: inout Reply) {
        let later = reply.replyLater()
        handles.withLock { $0.append(later) }
    }
    func connectionClosed(_ connection: Connection, reason: CloseReason) { closed.withLock { $0 += 1 } }
}

extension UDPClient {
    /// Whether this process may bind a UDP socket to `port` on loopback.
    static func canBind(port: Int) -> Bool {
        (try? UDPClient(port: 9, source: "127.0.0.1", sourcePort: port)) != nil
    }
}

private func localPort(_ fd: Int32) -> Int {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

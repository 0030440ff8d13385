import Glibc
import Testing

/// The per-connection invariants of the foundation issue, end to end through the daemon:
/// partial writes, backpressure and the write timeout, resets, half-close, idle timeout.
@Suite struct ConnectionTests {
    /// Item 1: the kernel takes only part of each send when the client reads slowly through
    /// a 4 KiB receive buffer; every byte still arrives, in order, without a busy loop.
    @Test(arguments: EchoTests.backends)
    func partialWritesLoseNothing(backend: String) throws {
        let daemon = try Daemon.serving(["--backend", backend])
        // More than the kernel's largest send buffer (tcp_wmem: 4 MiB), so sends must stall.
        let payload = Payload.random(count: 8 << 20, seed: 1)
        let client = try TestClient(port: daemon.port, timeout: 20, receiveBuffer: 4096)
        let sender = Background {
            try client.send(payload)
            client.shutdownWrite()
        }
        // Read nothing until the echo has filled every buffer on its way back and the
        // server's sends are cut short; then read slowly.
        #expect(waitUntil(timeout: 10) { (try? daemon.stats()["writes.partial"]) ?? 0 >= 1 },
                "the kernel must take only part of a send for this test to mean anything")
        let cpuBefore = daemon.probe.cpuSeconds, start = monotonicSeconds()
        var echoed: [UInt8] = []
        while echoed.count < payload.count {
            echoed += try client.receive(exactly: min(4096, payload.count - echoed.count))
            if echoed.count % (32 << 10) == 0 { usleep(2000) }  // a slow reader
        }
        try sender.value(timeout: 20)
        let cpu = daemon.probe.cpuSeconds - cpuBefore, wall = monotonicSeconds() - start
        #expect(mismatch(echoed, payload) == nil)
        #expect(try client.receiveUntilEOF().isEmpty)
        #expect(cpu < wall * 0.5, "server CPU \(cpu) s over \(wall) s: it should sleep while the client is slow")
        client.close()
        daemon.expectDescriptorsAtBaseline()
    }

    /// Item 2: a client that sends and never reads makes the server stop reading it once its
    /// output passes the limit; the server holds at most the limit plus one read for it, a
    /// sentinel client keeps its latency, and the write timeout ends the stalled connection.
    @Test func backpressureBoundsANeverReadingClient() throws {
        let limit = 64 << 10, chunk = 64 << 10
        let daemon = try Daemon.serving(["--output-limit", "\(limit)", "--write-timeout", "2"])
        let rssBefore = daemon.probe.residentBytes
        let sentinel = try Sentinel(port: daemon.port)

        let hog = try TestClient(port: daemon.port)
        let sent = hog.sendUntilStalled()
        #expect(sent < 256 << 20, "the server kept reading a client that never reads")
        let stats = try daemon.stats()
        let held = Int(stats["bytes.in"]!) - Int(stats["bytes.out"]!)
        #expect(held <= limit + chunk, "server holds \(held) bytes for the stalled client")
        #expect(stats["backpressure.pauses"]! >= 1)
        #expect(daemon.probe.residentBytes - rssBefore < 8 << 20)
        let cpuBefore = daemon.probe.cpuSeconds
        usleep(500_000)
        #expect(daemon.probe.cpuSeconds - cpuBefore < 0.2, "a paused connection must not keep the loop busy")

        // Nothing drains for 2 s: the write timeout closes the hog, and only the hog.
        #expect(waitUntil(timeout: 5) { (try? daemon.stats()["timeouts.write"]) == 1 })
        #expect(hog.outcome(within: 1) != .nothingYet)
        let report = try sentinel.finish()
        #expect(report.errors.isEmpty, "sentinel: \(report.errors)")
        #expect(report.roundTrips > 20)
        #expect(report.worstLatency < 0.5 * Sanitizer.slowdown, "sentinel worst round trip \(report.worstLatency) s")
        hog.close()
        daemon.expectDescriptorsAtBaseline()
    }

    /// Item 2, second half: a stalled client that starts reading before the write timeout
    /// gets every byte it sent.
    @Test func aStalledClientThatStartsReadingGetsEverything() throws {
        let daemon = try Daemon.serving(["--output-limit", "65536", "--write-timeout", "5"])
        let payload = Payload.random(count: 12 << 20, seed: 2)
        let client = try TestClient(port: daemon.port, timeout: 20)
        let sender = Background {
            try client.send(payload)
            client.shutdownWrite()
        }
        // Nobody reads: the server must pause this connection (bounded wait, not a fixed sleep).
        #expect(waitUntil(timeout: 10) { (try? daemon.stats()["backpressure.pauses"]) ?? 0 >= 1 })
        #expect(mismatch(try client.receiveUntilEOF(), payload) == nil)
        try sender.value(timeout: 20)
        client.close()
        daemon.expectDescriptorsAtBaseline()
    }

    /// Item 6: a peer that resets while the server is writing to it costs that connection
    /// only; the process (started with SIGPIPE at its default) never dies of SIGPIPE.
    @Test(arguments: EchoTests.backends)
    func aResetMidWriteDoesNotKillTheServer(backend: String) throws {
        let daemon = try Daemon.serving(["--backend", backend])
        let junk = Payload.random(count: 1 << 20, seed: 3)
        for _ in 0..<10 {
            let client = try TestClient(port: daemon.port)
            for _ in 0..<4 { _ = client.sendWithoutBlocking(junk) }
            usleep(20_000)  // let the server read and start writing the echo
            client.reset()
        }
        #expect(daemon.waitForExit(timeout: 0.5) == nil, "the daemon died: \(daemon.stderr)")
        let client = try TestClient(port: daemon.port)
        #expect(try client.roundTrip(Array("still here".utf8)))
        client.close()
        let stats = try daemon.stats()
        #expect(stats["errors.resets"]! >= 1)
        daemon.expectDescriptorsAtBaseline()
    }

    /// Item 7: a peer that sends, then shuts down its write side, still receives its whole
    /// echo and then EOF.
    @Test(arguments: EchoTests.backends, [3000, 1 << 20])
    func halfCloseStillGetsTheWholeEcho(backend: String, size: Int) throws {
        let daemon = try Daemon.serving(["--backend", backend])
        let payload = Payload.random(count: size, seed: 7)
        let client = try TestClient(port: daemon.port, timeout: 10)
        let sender = Background {
            try client.send(payload)
            client.shutdownWrite()
        }
        let echoed = try client.receiveUntilEOF()
        try sender.value(timeout: 10)
        #expect(mismatch(echoed, payload) == nil)
        client.close()
        daemon.expectDescriptorsAtBaseline()
    }

    /// Item 8: with --idle-timeout, a connection with no byte read or written for that long
    /// is closed; one that keeps talking stays open.
    @Test func idleTimeoutClosesOnlyIdleConnections() throws {
        let daemon = try Daemon.serving(["--idle-timeout", "0.5"])
        let idle = try TestClient(port: daemon.port)
        let busy = try TestClient(port: daemon.port)
        let start = monotonicSeconds()
        for _ in 0..<15 {  // 1.5 s of traffic, a message every 100 ms
            #expect(try busy.roundTrip([1, 2, 3]))
            usleep(100_000)
        }
        #expect(idle.outcome(within: 0) == .closed)
        #expect(try busy.roundTrip([4]))
        #expect(monotonicSeconds() - start >= 0.5)
        #expect(try daemon.stats()["timeouts.idle"] == 1)
        idle.close()
        busy.close()
        daemon.expectDescriptorsAtBaseline()
    }

    /// Item 8: the idle timeout is off by default.
    @Test func idleConnectionsStayOpenByDefault() throws {
        let daemon = try Daemon.serving([])
        let idle = try TestClient(port: daemon.port)
        #expect(idle.outcome(within: 1.5) == .nothingYet)
        #expect(try idle.roundTrip([9]))
        idle.close()
        daemon.expectDescriptorsAtBaseline()
    }
}

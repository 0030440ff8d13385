import Glibc
import Testing

/// The daemon between two network namespaces (``NetworkLab``), where packets are lost and
/// peers vanish as on real paths, on every backend. Needs root; skipped elsewhere, saying so.
/// The tests are async and wait (for seconds: retransmissions, keepalive probes) on threads
/// of their own, so that they never hold the cooperative pool's few threads meanwhile; one at
/// a time, since making and deleting namespaces by the dozen at once disturbs what the
/// latency-bound tests running beside them measure.
@Suite(.serialized, .enabled(if: NetworkLab.enabled, NetworkLab.skipComment))
struct RealNetworkTests {
    /// Several clients stream through 3 % loss each way: TCP repairs every loss, so every byte
    /// comes back, nothing is closed early and no error is counted.
    @Test(arguments: EchoTests.backends)
    func streamsThroughALossyPath(backend: String) async throws {
        let lab = try NetworkLab()
        let daemon = try lab.serve(["--backend", backend])
        try lab.dropRandomly(percent: 3)
        let payloads = (0..<4).map { Payload.random(count: 256 << 10, seed: 300 + UInt64($0)) }
        let clients = try payloads.map { _ in try lab.connect(port: daemon.port, timeout: 30) }
        let echoes = try await onThread {
            let readers = clients.enumerated().map { index, client in
                Background { try client.receive(exactly: payloads[index].count) }
            }
            for (client, payload) in zip(clients, payloads) {
                for chunk in stride(from: 0, to: payload.count, by: 16 << 10) {
                    try client.send(Array(payload[chunk..<min(chunk + (16 << 10), payload.count)]))
                }
            }
            return try readers.map { try $0.value(timeout: 60) }
        }
        for (echo, payload) in zip(echoes, payloads) {
            #expect(mismatch(echo, payload) == nil)
        }
        #expect(try lab.droppedPackets() > 0)
        let stats = try daemon.stats()
        #expect(stats["active"] == UInt64(clients.count), "a connection was closed: \(stats)")
        #expect(stats["errors.other"] == 0 && stats["errors.resets"] == 0, "\(stats)")
        clients.forEach { $0.close() }
        #expect(try await onThread { daemon.descriptorsBackAtBaseline(within: 10) })
    }

    /// Connection churn through 5 % loss each way, every fifth connection ended with a reset
    /// (a reset that is lost is never sent again): with keepalive, the daemon still gets back
    /// to its idle descriptors, within about twice `--keepalive` of the last client.
    @Test(arguments: EchoTests.backends)
    func churnThroughLossReturnsToIdle(backend: String) async throws {
        let lab = try NetworkLab()
        let daemon = try lab.serve(["--backend", backend, "--keepalive", "2"])
        try lab.dropRandomly(percent: 5)
        let workers = (0..<10).map { worker in
            Background {
                try lab.inClientNamespace(timeout: 90) { () throws -> Int in
                    var echoed = 0
                    for round in 0..<20 {
                        guard let client = try? TestClient(host: NetworkLab.serverAddress, port: daemon.port, timeout: 10)
                        else { continue }  // a handshake lost three times over: the client gives up
                        if (try? client.roundTrip(Payload.random(count: 100, seed: UInt64(worker * 100 + round)))) == true {
                            echoed += 1
                        }
                        if round % 5 == 4 { client.reset() } else { client.close() }
                    }
                    return echoed
                }
            }
        }
        let echoed = try await onThread { try workers.reduce(0) { $0 + (try $1.value(timeout: 120)) } }
        #expect(echoed >= 150, "\(echoed) of 200 connections echoed")
        #expect(try lab.droppedPackets() > 0)
        #expect(try await onThread { daemon.descriptorsBackAtBaseline(within: 15) })
        let stats = try daemon.stats()
        #expect(stats["active"] == 0 && stats["accepted"] == stats["closed"], "\(stats)")
    }

    /// An idle client whose link goes down (no FIN, no reset, nothing answers): keepalive
    /// finds it, at 2 s idle plus three probes a second apart, and the close says why.
    @Test(arguments: EchoTests.backends)
    func anIdlePeerThatVanishesIsFoundByKeepalive(backend: String) async throws {
        let lab = try NetworkLab()
        let (daemon, client) = try connected(in: lab, ["--backend", backend, "--keepalive", "2", "--write-timeout", "0"])
        let vanished = monotonicSeconds()
        try lab.setClientLink(up: false)
        let vanishedFor = try await secondsUntilDeadPeer(daemon, since: vanished, timeout: 15)
        client.close()  // only now: a close before the link went down would have sent a FIN
        #expect(vanishedFor > 3.5 && vanishedFor < 8, "closed \(vanishedFor) s after the peer vanished, 5 s expected")
        let stats = try await countedDeadPeer(daemon)
        #expect(stats["timeouts.dead_peer"] == 1 && stats["active"] == 0, "\(stats)")
        #expect(try await onThread { daemon.descriptorsBackAtBaseline(within: 2) })
    }

    /// A client that stops acknowledging (everything towards it is dropped) after asking for
    /// one small reply: the reply sits in the kernel, where the daemon's write timeout never
    /// sees it, and keepalive is off; the user timeout (write timeout + 2 s) ends it within
    /// seconds, not after the kernel's 15 minutes of retransmissions.
    @Test(arguments: EchoTests.backends)
    func aPeerThatStopsAcknowledgingIsBoundByTheWriteTimeout(backend: String) async throws {
        let lab = try NetworkLab()
        let (daemon, client) = try connected(in: lab, ["--backend", backend, "--write-timeout", "3", "--keepalive", "0"])
        try lab.dropEverythingTowardsClient()
        let sent = monotonicSeconds()
        try client.send(Array("one small message".utf8))
        let unacknowledgedFor = try await secondsUntilDeadPeer(daemon, since: sent, timeout: 20)
        #expect(unacknowledgedFor > 4 && unacknowledgedFor < 10, "closed \(unacknowledgedFor) s after the reply, about 5 s expected")
        let stats = try await countedDeadPeer(daemon)
        #expect(stats["timeouts.dead_peer"] == 1 && stats["timeouts.write"] == 0, "\(stats)")
    }

    /// A daemon in `lab` run with `arguments` (every close logged) and a client in the other
    /// namespace that has had one echo.
    private func connected(in lab: NetworkLab, _ arguments: [String]) throws -> (Daemon, TestClient) {
        let daemon = try lab.serve(arguments + ["--log-level", "debug"])
        let client = try lab.connect(port: daemon.port)
        #expect(try client.roundTrip([1, 2, 3]))
        return (daemon, client)
    }

    /// Seconds from `start` until the daemon logs a dead peer's close, waited for off the
    /// cooperative pool; throws after `timeout`.
    private func secondsUntilDeadPeer(_ daemon: Daemon, since start: Double, timeout: Double) async throws -> Double {
        let elapsed = try await onThread { () -> Double? in
            daemon.waitForOutput(containing: #"reason="dead peer""#, timeout: timeout) ? monotonicSeconds() - start : nil
        }
        return try #require(elapsed, "no dead peer closed within \(timeout) s:\n\(daemon.stderr)")
    }

    /// The counters once they show the dead peer (the close is logged a moment before it is
    /// counted, which a busy machine can stretch), or after 2 s as they are.
    private func countedDeadPeer(_ daemon: Daemon) async throws -> [String: UInt64] {
        try await onThread {
            var stats = try daemon.stats()
            let deadline = monotonicSeconds() + 2
            while stats["timeouts.dead_peer"] == 0 && monotonicSeconds() < deadline {
                usleep(50_000)
                stats = try daemon.stats()
            }
            return stats
        }
    }

    /// A graceful stop with a dead peer that still has output queued in the daemon (it sent
    /// without reading, then its link went down): the daemon cannot send it, so it closes it
    /// at the deadline and exits 0 within `--shutdown-timeout`.
    @Test(arguments: EchoTests.backends)
    func aDeadPeerCannotHoldAGracefulStop(backend: String) async throws {
        let lab = try NetworkLab()
        let daemon = try lab.serve(["--backend", backend, "--shutdown-timeout", "2", "--output-limit", "64KiB"])
        let client = try lab.connect(port: daemon.port)
        _ = try await onThread { client.sendUntilStalled() }
        #expect(try daemon.stats()["backpressure.pauses"]! >= 1, "the daemon holds output for it")
        try lab.setClientLink(up: false)

        let (end, elapsed) = try await onThread {
            let start = monotonicSeconds()
            daemon.send(signal: SIGTERM)
            return (daemon.waitForExit(timeout: 6), monotonicSeconds() - start)
        }
        #expect(end == .exited(0))
        #expect(elapsed >= 1.9 && elapsed < 3.5, "exited after \(elapsed) s with a 2 s deadline")
        #expect(daemon.stderr.contains("shutdown.forced=1"))
    }
}

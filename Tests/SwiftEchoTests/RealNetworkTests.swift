import Glibc
import Testing

/// The daemon between two network namespaces (``NetworkLab``), where packets are lost and
/// peers vanish as on real paths, on every backend. Needs root; skipped elsewhere, saying so.
@Suite(.enabled(if: NetworkLab.enabled, NetworkLab.skipComment))
struct RealNetworkTests {
    /// Several clients stream through 3 % loss each way: TCP repairs every loss, so every byte
    /// comes back, nothing is closed early and no error is counted.
    @Test(arguments: EchoTests.backends)
    func streamsThroughALossyPath(backend: String) throws {
        let lab = try NetworkLab()
        let daemon = try lab.serve(["--backend", backend])
        try lab.dropRandomly(percent: 3)
        let payloads = (0..<4).map { Payload.random(count: 256 << 10, seed: 300 + UInt64($0)) }
        let clients = try payloads.map { _ in try lab.connect(port: daemon.port, timeout: 30) }
        let readers = clients.enumerated().map { index, client in
            Background { try client.receive(exactly: payloads[index].count) }
        }
        for (client, payload) in zip(clients, payloads) {
            for chunk in stride(from: 0, to: payload.count, by: 16 << 10) {
                try client.send(Array(payload[chunk..<min(chunk + (16 << 10), payload.count)]))
            }
        }
        for (reader, payload) in zip(readers, payloads) {
            #expect(mismatch(try reader.value(timeout: 60), payload) == nil)
        }
        #expect(try lab.droppedPackets() > 0)
        let stats = try daemon.stats()
        #expect(stats["active"] == UInt64(clients.count), "a connection was closed: \(stats)")
        #expect(stats["errors.other"] == 0 && stats["errors.resets"] == 0, "\(stats)")
        clients.forEach { $0.close() }
        daemon.expectDescriptorsAtBaseline(within: 10)
    }

    /// A graceful stop with a dead peer that still has output queued in the daemon (it sent
    /// without reading, then its link went down): the daemon cannot send it, so it closes it
    /// at the deadline and exits 0 within `--shutdown-timeout`.
    @Test(arguments: EchoTests.backends)
    func aDeadPeerCannotHoldAGracefulStop(backend: String) throws {
        let lab = try NetworkLab()
        let daemon = try lab.serve(["--backend", backend, "--shutdown-timeout", "2", "--output-limit", "64KiB"])
        let client = try lab.connect(port: daemon.port)
        _ = client.sendUntilStalled()
        #expect(try daemon.stats()["backpressure.pauses"]! >= 1, "the daemon holds output for it")
        try lab.setClientLink(up: false)

        let start = monotonicSeconds()
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 6) == .exited(0))
        let elapsed = monotonicSeconds() - start
        #expect(elapsed >= 1.9 && elapsed < 3.5, "exited after \(elapsed) s with a 2 s deadline")
        #expect(daemon.stderr.contains("shutdown.forced=1"))
    }
}

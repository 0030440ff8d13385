import Glibc
import Synchronization
import Testing

extension Adversarial {
    /// RELIABILITY.md, "Hygiene", fairness: one client streaming at full speed must not push
    /// small ping-pong clients' latency up; the per-event read cap is what guarantees it.
    @Suite struct FairnessTests {
        @Test func aFullSpeedStreamDoesNotStarveTenPingPongClients() throws {
            final class Flag: Sendable { let raised = Atomic(false) }
            let daemon = try Daemon.serving([])
            let block = Payload.random(count: 1 << 20, seed: 64)
            let streamer = try TestClient(port: daemon.port, timeout: 60 * Sanitizer.slowdown)
            let done = Flag()
            let sender = Background {
                for _ in 0..<64 { try streamer.send(block) }  // 64 MiB, as fast as the kernel takes it
                streamer.shutdownWrite()
            }
            let reader = Background { () -> Int in
                defer { done.raised.store(true, ordering: .relaxed) }
                var wrong = 0
                for _ in 0..<64 where try streamer.receive(exactly: block.count) != block { wrong += 1 }
                return wrong
            }
            // Measure only while the stream is under way.
            #expect(waitUntil(timeout: 10 * Sanitizer.slowdown) { (try? daemon.stats()["bytes.out"]) ?? 0 >= 2 << 20 })
            let pingers = (0..<10).map { p in
                Background { () -> [Double] in
                    let client = try TestClient(port: daemon.port, timeout: 10 * Sanitizer.slowdown)
                    let message = Payload.random(count: 64, seed: UInt64(p))
                    var latencies: [Double] = []
                    while !done.raised.load(ordering: .relaxed) {
                        let start = monotonicSeconds()
                        guard try client.roundTrip(message) else { throw TestClientError("pinger \(p): wrong echo") }
                        latencies.append(monotonicSeconds() - start)
                        usleep(2000)
                    }
                    return latencies
                }
            }
            #expect(try reader.value(timeout: 120 * Sanitizer.slowdown) == 0, "the stream came back altered")
            try sender.value(timeout: 10)
            let latencies = try pingers.flatMap { try $0.value(timeout: 20) }
            let p99 = percentile(latencies, 0.99), bound = 0.1 * Sanitizer.slowdown
            #expect(latencies.count >= 50, "only \(latencies.count) round trips while the stream ran")
            #expect(p99 < bound, "ping-pong p99 \(p99) s over \(latencies.count) round trips (bound \(bound) s)")
            streamer.close()
            daemon.expectDescriptorsAtBaseline()
        }
    }
}

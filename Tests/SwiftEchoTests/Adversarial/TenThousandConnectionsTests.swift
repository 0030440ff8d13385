import Glibc
import Testing

extension Adversarial {
    /// 10 000 connections at once against a two-loop daemon (a separate process: the hard
    /// open-files limit here is 20 000, so client and server cannot share one): every one
    /// echoes a payload of its own, memory stays bounded, and everything comes back closed.
    @Suite struct TenThousandConnectionsTests {
        static let connections = 10_000
        /// Connects go out in waves, so the SYNs of one wave fit the listen queues
        /// (somaxconn, 4096 here) instead of being dropped and retried a second later.
        static let wave = 1_000

        @Test(.enabled(if: hardOpenFilesLimit() >= 10_200, "needs a hard RLIMIT_NOFILE above 10 200"),
              arguments: EchoTests.unbounded)
        func tenThousandConcurrentConnectionsEachEcho(backend: String) throws {
            let limit = raiseOpenFilesLimit()
            try #require(limit >= Self.connections + 200, "needs an open-files limit above 10 200, have \(limit)")
            let daemon = try Daemon.serving(["--backend", backend, "--threads", "2", "--backlog", "4096",
                                             "--max-connections", "\(Self.connections)"])
            let budget = 30 * Sanitizer.slowdown
            let start = monotonicSeconds()
            let rssBefore = daemon.probe.residentBytes

            var crowds: [Crowd] = []
            var outcomes: [Crowd.Outcome] = []
            var bytes = 0
            for wave in 0..<(Self.connections / Self.wave) {
                let crowd = try Crowd(count: Self.wave, port: daemon.port)
                crowds.append(crowd)
                try crowd.waitConnected(timeout: max(1, budget - (monotonicSeconds() - start)))
                outcomes += crowd.exchange(timeout: max(1, budget - (monotonicSeconds() - start))) { i in
                    let size = 1 + (wave * Self.wave + i) % 200
                    bytes += size
                    return Payload.random(count: size, seed: UInt64(wave * Self.wave + i))
                }
            }
            #expect(outcomes.count == Self.connections && outcomes.allSatisfy { $0 == .echoed }, "\(outcomes.tally)")
            let stats = try daemon.stats()
            #expect(stats["active"] == UInt64(Self.connections), "all open at once: \(stats)")
            #expect(stats["accepted"] == UInt64(Self.connections) && stats["bytes.in"] == UInt64(bytes), "\(stats)")
            if Sanitizer.measuresMemory {
                // An idle connection keeps no buffer: its record and the table slot. 2 KiB each
                // is generous (the allocator's and the kernel's share included).
                let grown = daemon.probe.residentBytes - rssBefore
                #expect(grown < Self.connections * 2048, "RSS grew \(grown >> 20) MiB for \(Self.connections) connections")
            }

            crowds.forEach { $0.close() }
            #expect(waitUntil(timeout: max(2, budget - (monotonicSeconds() - start))) {
                (try? daemon.stats()["closed"]) == UInt64(Self.connections)
            })
            let final = try daemon.stats()
            // bytes.out only now: it is counted once send() returns, maybe after the client read
            #expect(final["active"] == 0 && final["bytes.out"] == UInt64(bytes) && final["refused.max_connections"] == 0
                    && final["errors.other"] == 0, "\(final)")
            daemon.expectDescriptorsAtBaseline()
            #expect(monotonicSeconds() - start < budget, "took \(monotonicSeconds() - start) s")
            daemon.send(signal: SIGTERM)
            #expect(daemon.waitForExit(timeout: 5 * Sanitizer.slowdown) == .exited(0))
        }
    }
}

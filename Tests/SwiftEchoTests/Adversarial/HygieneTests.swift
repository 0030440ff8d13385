import Glibc
import Testing

extension Adversarial {
    /// RELIABILITY.md, "Hygiene": after a run of the hostile cases against one daemon, nothing is
    /// left behind: descriptors at the baseline, memory back near the warmed-up baseline, and a
    /// clean exit (LeakSanitizer runs at exit under ASan and would fail it).
    @Suite struct HygieneTests {
        @Test func afterTheGauntletEverythingIsBackToBaseline() throws {
            let daemon = try Daemon.serving(["--output-limit", "65536", "--write-timeout", "1.5"])
            let port = daemon.port
            // Warm up with the same kinds of traffic, so allocator caches are already grown.
            try runGauntlet(port: port, daemon: daemon, round: 0)
            daemon.expectDescriptorsAtBaseline()
            let warm = daemon.probe.residentBytes

            for round in 1...2 { try runGauntlet(port: port, daemon: daemon, round: round) }

            daemon.expectDescriptorsAtBaseline()
            if Sanitizer.measuresMemory {
                let growth = daemon.probe.residentBytes - warm
                #expect(growth < 4 << 20, "RSS \(growth) bytes above the warmed-up baseline of \(warm)")
            }
            let stats = try daemon.stats()
            #expect(stats["active"] == 0 && stats["accepted"] == stats["closed"], "\(stats)")
            daemon.send(signal: SIGTERM)
            #expect(daemon.waitForExit(timeout: 5 * Sanitizer.slowdown) == .exited(0), "\(daemon.stderr)")
        }

        /// One pass of the hostile cases, each bounded.
        private func runGauntlet(port: Int, daemon: Daemon, round: Int) throws {
            let seed = UInt64(round * 1000)
            // Random payloads from several clients at once.
            let exchanges = (0..<6).map { i in
                Background { () -> String? in
                    let payload = Payload.random(count: 200 << 10, seed: seed + UInt64(i))
                    return mismatch(try exchange(payload, port: port), payload)
                }
            }
            for work in exchanges { #expect(try work.value(timeout: 30 * Sanitizer.slowdown) == nil) }

            // 2 000 one-byte sends.
            let dribbler = try TestClient(port: port, timeout: 10 * Sanitizer.slowdown)
            for i in 0..<2000 { try dribbler.send([UInt8(truncatingIfNeeded: i)]) }
            #expect(try dribbler.receive(exactly: 2000) == (0..<2000).map { UInt8(truncatingIfNeeded: $0) })
            dribbler.close()

            // A client that never reads, ended by the write timeout.
            let timeoutsBefore = try daemon.stats()["timeouts.write"]!
            let hog = try TestClient(port: port)
            _ = hog.sendUntilStalled(quiet: 0.3)
            #expect(waitUntil(timeout: 5 * Sanitizer.slowdown) { (try? daemon.stats()["timeouts.write"]) == timeoutsBefore + 1 })
            hog.close()

            // Connect, send, close at once; and send, shut down writing, close without reading.
            let junk = Payload.random(count: 32 << 10, seed: seed + 10)
            for i in 0..<100 {
                let client = try TestClient(port: port)
                _ = client.sendWithoutBlocking(junk)
                if i % 2 == 0 { client.shutdownWrite() }
                client.close()
            }

            // Resets while the server writes.
            for _ in 0..<10 {
                let client = try TestClient(port: port, receiveBuffer: 4096)
                for _ in 0..<4 { _ = client.sendWithoutBlocking(junk) }
                _ = waitUntil(timeout: 1) { client.outcome(within: 0) == .data }
                client.reset()
            }

            // Half-close with a large echo.
            let large = Payload.random(count: 1 << 20, seed: seed + 20)
            #expect(mismatch(try exchange(large, port: port), large) == nil)

            // 200 connections at once.
            let crowd = try Crowd(count: 200, port: port)
            try crowd.waitConnected(timeout: 5 * Sanitizer.slowdown)
            let outcomes = crowd.exchange(timeout: 10 * Sanitizer.slowdown) { Payload.random(count: 2000, seed: seed + UInt64($0)) }
            #expect(outcomes.allSatisfy { $0 == .echoed }, "\(outcomes.tally)")
            crowd.close()
            #expect(waitUntil(timeout: 5 * Sanitizer.slowdown) { (try? daemon.stats()["active"]) == 0 })
        }
    }
}

import Glibc
import Testing

extension Adversarial {
    /// RELIABILITY.md: peers that vanish mid-conversation, resets while the server writes, and
    /// connect storms. The process survives, others are served, descriptors come back.
    @Suite struct ConnectionChurnTests {
        /// Connect, send, close at once, 200 times (half of them from eight threads at once):
        /// no crash, every connection closed, descriptors back to the baseline.
        @Test(arguments: EchoTests.backends)
        func connectSendCloseTwoHundredTimes(backend: String) throws {
            let daemon = try Daemon.serving(["--backend", backend])
            let sentinel = try Sentinel(port: daemon.port)
            let payload = Payload.random(count: 8192, seed: 3)
            for _ in 0..<100 {
                let client = try TestClient(port: daemon.port)
                _ = client.sendWithoutBlocking(payload)
                client.close()
            }
            runConcurrently(threads: 8) { _ in
                for _ in 0..<13 {
                    guard let client = try? TestClient(port: daemon.port) else { continue }
                    _ = client.sendWithoutBlocking(payload)
                    client.close()
                }
            }
            // 100 + 8 × 13 = 204 churned, plus the sentinel, which stays.
            #expect(waitUntil(timeout: 5 * Sanitizer.slowdown) { (try? daemon.stats()["closed"]) == 204 })
            #expect(daemon.waitForExit(timeout: 0) == nil, "the daemon died: \(daemon.stderr)")
            sentinel.expectUnaffected()
            daemon.expectDescriptorsAtBaseline()
        }

        /// Send, shut down writing, close without reading the echo, 200 times: the server's echo
        /// meets a closed socket (EPIPE or a reset); it ends that connection only.
        @Test(arguments: EchoTests.backends)
        func sendShutDownWritingAndCloseWithoutReading(backend: String) throws {
            let daemon = try Daemon.serving(["--backend", backend])
            let sentinel = try Sentinel(port: daemon.port)
            let payload = Payload.random(count: 256 << 10, seed: 4)
            for _ in 0..<200 {
                let client = try TestClient(port: daemon.port)
                _ = client.sendWithoutBlocking(payload)
                client.shutdownWrite()
                client.close()
            }
            #expect(waitUntil(timeout: 5 * Sanitizer.slowdown) { (try? daemon.stats()["closed"]) == 200 })
            #expect(daemon.waitForExit(timeout: 0) == nil, "the daemon died: \(daemon.stderr)")
            sentinel.expectUnaffected()
            daemon.expectDescriptorsAtBaseline()
        }

        /// Resets (SO_LINGER 0) while the server is writing a large echo: only those connections
        /// end. The daemon starts with SIGPIPE at its default disposition (Daemon's posix_spawn
        /// resets every signal), so a single send without MSG_NOSIGNAL would kill it. A bystander
        /// streaming at the same time gets every byte.
        @Test(arguments: EchoTests.backends)
        func resetsWhileTheServerWritesCostOnlyThoseConnections(backend: String) throws {
            let daemon = try Daemon.serving(["--backend", backend])
            let sentinel = try Sentinel(port: daemon.port)
            let bystanderPayload = Payload.random(count: 4 << 20, seed: 5)
            let bystander = Background { try exchange(bystanderPayload, port: daemon.port) }
            let junk = Payload.random(count: 1 << 20, seed: 6)
            var resetMidWrite = 0
            for _ in 0..<30 {
                let client = try TestClient(port: daemon.port, receiveBuffer: 4096)
                for _ in 0..<4 { _ = client.sendWithoutBlocking(junk) }
                // The echo has filled our small receive buffer: the server has output queued.
                if waitUntil(timeout: 1, { client.outcome(within: 0) == .data }) { resetMidWrite += 1 }
                client.reset()
            }
            #expect(resetMidWrite > 0, "no round reset a connection the server was writing to")
            #expect(mismatch(try bystander.value(timeout: 30 * Sanitizer.slowdown), bystanderPayload) == nil)
            #expect(daemon.waitForExit(timeout: 0.2) == nil, "the daemon died: \(daemon.stderr)")
            #expect(waitUntil(timeout: 5) { (try? daemon.stats()["closed"]) == 31 })
            let stats = try daemon.stats()
            #expect(stats["errors.resets"]! >= 1, "\(stats)")
            sentinel.expectUnaffected()
            daemon.expectDescriptorsAtBaseline()
        }

        /// 1 000 connects at once (non-blocking, all SYNs out before any wait): every handshake
        /// completes and every connection echoes within 3 s.
        @Test(arguments: EchoTests.unbounded)
        func aThousandSimultaneousConnects(backend: String) throws {
            raiseOpenFilesLimit()
            let daemon = try Daemon.serving(["--backend", backend])
            let budget = 3 * Sanitizer.slowdown
            let start = monotonicSeconds()
            let crowd = try Crowd(count: 1000, port: daemon.port)
            try crowd.waitConnected(timeout: budget)
            let outcomes = crowd.exchange(timeout: budget) { Payload.random(count: 100, seed: UInt64($0)) }
            let elapsed = monotonicSeconds() - start
            #expect(outcomes.allSatisfy { $0 == .echoed }, "\(outcomes.tally)")
            #expect(elapsed < budget, "took \(elapsed) s")
            #expect(try daemon.stats()["active"] == 1000)
            crowd.close()
            daemon.expectDescriptorsAtBaseline()
        }
    }
}

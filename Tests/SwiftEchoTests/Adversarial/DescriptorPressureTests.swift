import Glibc
import Testing

extension Adversarial {
    /// RELIABILITY.md: the connection cap, select's FD_SETSIZE with 2 000+ connections, and
    /// descriptor exhaustion, at the scale the file names.
    @Suite struct DescriptorPressureTests {
        /// Past --max-connections every extra connection is closed within a second, none left
        /// hanging, each counted; the ones served and a sentinel are unaffected.
        @Test(arguments: EchoTests.backends)
        func extraConnectionsAreClosedWithinASecond(backend: String) throws {
            let daemon = try Daemon.serving(["--backend", backend, "--max-connections", "10"])
            let sentinel = try Sentinel(port: daemon.port)
            let served = try (0..<9).map { _ in try TestClient(port: daemon.port) }
            for client in served { #expect(try client.roundTrip([1, 2, 3])) }
            let extras = try Crowd(count: 50, port: daemon.port)
            try extras.waitConnected(timeout: 5)
            let outcomes = extras.exchange(timeout: 1 * Sanitizer.slowdown) { _ in [9] }
            #expect(outcomes.allSatisfy { $0 == .closed }, "\(outcomes.tally)")
            #expect(try daemon.stats()["refused.max_connections"] == 50)
            for client in served { #expect(try client.roundTrip([4, 5, 6])) }
            sentinel.expectUnaffected()
            extras.close()
            served.forEach { $0.close() }
            daemon.expectDescriptorsAtBaseline()
        }

        /// select with 2 000 clients at once, half the daemon's descriptor numbers taken by
        /// inherited ones: every connection whose descriptor would be FD_SETSIZE or more is
        /// refused cleanly (closed, counted, never passed to FD_SET: ASan would see the overflow),
        /// every other one echoes byte for byte.
        @Test(.enabled(if: hardOpenFilesLimit() >= 4096, "needs a hard RLIMIT_NOFILE of 4096 or more"))
        func selectRefusesCleanlyPastFDSetSize() throws {
            raiseOpenFilesLimit()
            let hold = "for i in $(seq 3 500); do eval \"exec $i</dev/null\"; done"
            let daemon = try Daemon.serving(["--backend", "select"], shellPrefix: hold)
            let crowd = try Crowd(count: 2000, port: daemon.port)
            try crowd.waitConnected(timeout: 10 * Sanitizer.slowdown)
            let outcomes = crowd.exchange(timeout: 10 * Sanitizer.slowdown) { Payload.random(count: 300, seed: UInt64($0)) }
            let tally = outcomes.tally
            #expect(tally[.mismatch] == nil && tally[.timedOut] == nil, "\(tally)")
            let echoed = tally[.echoed] ?? 0, refused = tally[.closed] ?? 0
            let stats = try daemon.stats()
            #expect(echoed > 100 && refused > 1000, "\(tally)")
            #expect(stats["active"] == UInt64(echoed), "\(stats)")
            #expect(stats["refused.fd_setsize"]! + stats["refused.max_connections"]! == UInt64(refused), "\(stats)")
            #expect(stats["refused.fd_setsize"]! > 0)
            #expect(daemon.waitForExit(timeout: 0) == nil, "the daemon died: \(daemon.stderr)")
            crowd.close()
            daemon.expectDescriptorsAtBaseline()
        }

        /// The other backends serve all 2 000.
        @Test(.enabled(if: hardOpenFilesLimit() >= 4096, "needs a hard RLIMIT_NOFILE of 4096 or more"),
              arguments: EchoTests.unbounded)
        func otherBackendsServeTwoThousand(backend: String) throws {
            raiseOpenFilesLimit()
            let daemon = try Daemon.serving(["--backend", backend])
            let crowd = try Crowd(count: 2000, port: daemon.port)
            try crowd.waitConnected(timeout: 10 * Sanitizer.slowdown)
            let outcomes = crowd.exchange(timeout: 10 * Sanitizer.slowdown) { Payload.random(count: 300, seed: UInt64($0)) }
            #expect(outcomes.allSatisfy { $0 == .echoed }, "\(outcomes.tally)")
            #expect(try daemon.stats()["active"] == 2000)
            crowd.close()
            daemon.expectDescriptorsAtBaseline()
        }

        /// RLIMIT_NOFILE 64, inherited descriptors eating half, 120 clients at once: no crash,
        /// each client served or closed (none left hanging), no spin over a 2 s plateau at the
        /// limit, and once the others leave a new client is served within a second.
        @Test func a64DescriptorLimitWith120Clients() throws {
            let hold = "ulimit -n 64\nfor i in $(seq 10 40); do eval \"exec $i</dev/null\"; done"
            let daemon = try Daemon.serving([], shellPrefix: hold)
            let crowd = try Crowd(count: 120, port: daemon.port)
            try crowd.waitConnected(timeout: 5 * Sanitizer.slowdown)
            let outcomes = crowd.exchange(timeout: 5 * Sanitizer.slowdown) { Payload.random(count: 64, seed: UInt64($0)) }
            let tally = outcomes.tally
            #expect(tally[.mismatch] == nil && tally[.timedOut] == nil, "\(tally)")
            #expect((tally[.echoed] ?? 0) > 0 && (tally[.closed] ?? 0) > 0, "\(tally)")
            let stats = try daemon.stats()
            #expect(stats["refused.no_descriptors"]! >= 1, "\(stats)")
            #expect(stats["active"] == UInt64(tally[.echoed] ?? 0), "\(stats)")

            let cpuBefore = daemon.probe.cpuSeconds
            sleep(2)  // a plateau at the limit, the served clients still connected
            let cpu = daemon.probe.cpuSeconds - cpuBefore
            #expect(cpu < 0.3, "the server used \(cpu) s of CPU in 2 s while out of descriptors")
            #expect(daemon.waitForExit(timeout: 0) == nil, "the daemon died: \(daemon.stderr)")

            crowd.close()
            #expect(waitUntil(timeout: 2 * Sanitizer.slowdown) { (try? daemon.stats()["active"]) == 0 })
            let start = monotonicSeconds()
            let fresh = try TestClient(port: daemon.port)
            #expect(try fresh.roundTrip([2, 3]))
            #expect(monotonicSeconds() - start < 1 * Sanitizer.slowdown)
            fresh.close()
            daemon.expectDescriptorsAtBaseline()
        }
    }
}

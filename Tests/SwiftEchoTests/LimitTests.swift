import Glibc
import Testing

/// Items 3, 4 and 5: the connection cap, select's FD_SETSIZE, and descriptor exhaustion.
@Suite struct LimitTests {
    /// Item 4: past --max-connections the next connection is closed at once, logged and
    /// counted; once one leaves, a new one is served.
    @Test(arguments: EchoTests.backends)
    func theConnectionCapRefusesTheNextOne(backend: String) throws {
        let daemon = try Daemon.serving(["--backend", backend, "--max-connections", "3"])
        let served = try (0..<3).map { _ in try TestClient(port: daemon.port) }
        for client in served { #expect(try client.roundTrip([1, 2, 3])) }
        let extra = try TestClient(port: daemon.port)
        #expect(extra.outcome(within: 1) == .closed)
        #expect(try daemon.stats()["refused.max_connections"] == 1)
        // The refusal is counted before the close and logged after it: wait for the line.
        #expect(daemon.waitForOutput(containing: "refused connection: max connections reached", timeout: 5))

        served[0].close()
        #expect(waitUntil(timeout: 2) { (try? daemon.stats()["active"]) == 2 })
        let next = try TestClient(port: daemon.port)
        #expect(try next.roundTrip([4, 5, 6]))
        (served + [extra, next]).forEach { $0.close() }
        daemon.expectDescriptorsAtBaseline()
    }

    /// Item 4: a cap that does not fit the open-files limit is lowered, with a warning.
    @Test func theCapIsFittedToTheOpenFilesLimit() throws {
        let daemon = try Daemon.serving(["--max-connections", "10000"], shellPrefix: "ulimit -n 256")
        #expect(daemon.stderr.contains("max connections lowered from 10000 to 224"))
        #expect(daemon.stderr.contains("RLIMIT_NOFILE"))
    }

    /// Item 4 with select: the cap stays below FD_SETSIZE.
    @Test func selectCapsConnectionsBelowFDSetSize() throws {
        let daemon = try Daemon.serving(["--backend", "select"])
        #expect(daemon.stderr.contains("to \(FD_SETSIZE - 32): the select backend can only watch descriptors below FD_SETSIZE"))
    }

    /// Item 3: with select, a connection whose descriptor is FD_SETSIZE or more is refused
    /// (closed, logged, counted) and never reaches FD_SET; the others are served. Inherited
    /// descriptors push the daemon's numbers up near the bound.
    @Test(.enabled(if: hardOpenFilesLimit() >= 2048, "needs a hard RLIMIT_NOFILE of 2048 or more"))
    func selectRefusesDescriptorsAboveFDSetSize() throws {
        let hold = "for i in $(seq 3 1005); do eval \"exec $i</dev/null\"; done"
        let daemon = try Daemon.serving(["--backend", "select"], shellPrefix: hold)
        var served: [TestClient] = [], refused: [TestClient] = []
        for _ in 0..<30 {
            let client = try TestClient(port: daemon.port)
            _ = client.sendWithoutBlocking([7])
            if client.outcome(within: 1) == .data {
                _ = try client.receive(exactly: 1)
                served.append(client)
            } else {
                refused.append(client)
            }
        }
        #expect(!served.isEmpty && !refused.isEmpty, "served \(served.count), refused \(refused.count)")
        #expect(try daemon.stats()["refused.fd_setsize"] == UInt64(refused.count))
        #expect(daemon.waitForOutput(containing: "refused connection: descriptor above the select() limit FD_SETSIZE", timeout: 5))
        for client in served { #expect(try client.roundTrip(Payload.random(count: 5000, seed: 5))) }
        (served + refused).forEach { $0.close() }
        daemon.expectDescriptorsAtBaseline()
    }

    /// Item 5: out of descriptors (inherited ones eat the 64 allowed), the server neither
    /// crashes nor spins; pending clients are closed at once; once others leave, a new client
    /// is served within a second. With epoll, and with io_uring, which accepts through polls.
    @Test(arguments: EchoTests.backends.filter { $0 == "epoll" || $0 == "io_uring" })
    func descriptorExhaustionNeitherSpinsNorSticks(backend: String) throws {
        let hold = "ulimit -n 64\nfor i in $(seq 10 50); do eval \"exec $i</dev/null\"; done"
        let daemon = try Daemon.serving(["--backend", backend], shellPrefix: hold)
        var served: [TestClient] = []
        var closed = 0
        for _ in 0..<40 {
            let client = try TestClient(port: daemon.port)
            _ = client.sendWithoutBlocking([1])
            switch client.outcome(within: 1) {
            case .data:
                _ = try client.receive(exactly: 1)
                served.append(client)
            case .closed: closed += 1
            case .nothingYet: Issue.record("a client was left hanging")
            }
        }
        #expect(!served.isEmpty && closed > 0, "served \(served.count), closed \(closed)")
        #expect(try daemon.stats()["refused.no_descriptors"]! >= 1)

        let cpuBefore = daemon.probe.cpuSeconds
        sleep(2)  // a plateau at the limit
        #expect(daemon.probe.cpuSeconds - cpuBefore < 0.3, "the server spins while out of descriptors")

        served.forEach { $0.close() }
        let start = monotonicSeconds()
        let fresh = try TestClient(port: daemon.port)
        #expect(try fresh.roundTrip([2, 3]))
        #expect(monotonicSeconds() - start < 1)
        fresh.close()
        daemon.expectDescriptorsAtBaseline()
    }
}

func hardOpenFilesLimit() -> Int {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    return Int(clamping: limit.rlim_max)
}

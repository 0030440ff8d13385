import Glibc
import Testing

/// Item 9: graceful stop on SIGTERM/SIGINT, the deadline, and the second signal.
@Suite struct ShutdownTests {
    /// Listeners close at once; every byte already read is echoed before FIN; exit 0.
    @Test(arguments: [SIGTERM, SIGINT])
    func inFlightDataIsEchoedBeforeTheServerExits(signal: Int32) throws {
        let daemon = try Daemon.serving(["--shutdown-timeout", "10"])
        let payload = Payload.random(count: 200 << 10, seed: 9)
        let client = try TestClient(port: daemon.port, timeout: 10)
        try client.send(payload)  // and do not read yet
        #expect(waitUntil(timeout: 5) { (try? daemon.stats()["bytes.in"]) == UInt64(payload.count) })

        daemon.send(signal: signal)
        #expect(daemon.waitForOutput(containing: "stopping gracefully", timeout: 5))
        #expect(waitUntil(timeout: 2) { (try? TestClient(port: daemon.port, timeout: 1)) == nil },
                "new connections are refused once the listener is closed")
        #expect(mismatch(try client.receiveUntilEOF(), payload) == nil)
        client.close()
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
    }

    /// A client that never reads cannot hold the server past the deadline; still exit 0,
    /// with the forced close logged and counted.
    @Test func theDeadlineClosesWhatWillNotDrain() throws {
        let daemon = try Daemon.serving(["--shutdown-timeout", "1", "--output-limit", "65536"])
        let hog = try TestClient(port: daemon.port)
        _ = hog.sendUntilStalled()
        #expect(try daemon.stats()["backpressure.pauses"]! >= 1)

        let start = monotonicSeconds()
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
        let elapsed = monotonicSeconds() - start
        #expect(elapsed >= 0.9 && elapsed < 4, "exited after \(elapsed) s with a 1 s deadline")
        #expect(daemon.stderr.contains("shutdown deadline reached"))
        #expect(daemon.stderr.contains("shutdown.forced=1"))
    }

    /// A second signal during the drain exits at once, with the shell's status for it.
    @Test func aSecondSignalExitsAtOnce() throws {
        let daemon = try Daemon.serving(["--shutdown-timeout", "30", "--output-limit", "65536"])
        let hog = try TestClient(port: daemon.port)
        _ = hog.sendUntilStalled()
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForOutput(containing: "stopping gracefully", timeout: 5))
        let start = monotonicSeconds()
        daemon.send(signal: SIGINT)
        #expect(daemon.waitForExit(timeout: 2) == .exited(128 + SIGINT))
        #expect(monotonicSeconds() - start < 1)
    }

    /// SIGTERM on an idle server exits promptly, every time (no lost wake-up).
    @Test func anIdleServerStopsPromptly() throws {
        for _ in 0..<5 {
            let daemon = try Daemon.serving([])
            let start = monotonicSeconds()
            daemon.send(signal: SIGTERM)
            #expect(daemon.waitForExit(timeout: 3) == .exited(0))
            #expect(monotonicSeconds() - start < 1)
        }
    }

    /// SIGQUIT goes to Swift's crash handler, which prints every thread's backtrace (and then
    /// lets the process run on). It first pauses the other threads with SIGUSR1: the signal
    /// thread must not take that for a stats request, which held the handler up for 30 s and
    /// would hold up a real crash the same way. Only in plain builds: under a sanitizer the
    /// sanitizer's own handlers come first.
    @Test(.enabled(if: Sanitizer.current == .none))
    func sigquitPrintsEveryThreadAtOnceWithoutAStatsLine() throws {
        let daemon = try Daemon.serving(["--log-format", "json"])
        let start = monotonicSeconds()
        daemon.send(signal: SIGQUIT)
        #expect(daemon.waitForOutput(containing: "Backtrace took", timeout: 20))
        #expect(monotonicSeconds() - start < 10, "the crash handler waited for a thread")
        #expect(daemon.stderr.contains("Thread 1"))
        #expect(!daemon.stderr.contains(Self.statsLine), "stderr:\n\(daemon.stderr)")
    }

    /// SIGUSR1 still logs the counters, once per signal, and the server keeps serving.
    @Test func statsSignalsAreEachAnsweredOnce() throws {
        let daemon = try Daemon.serving(["--log-format", "json"])
        for count in 1...3 {
            daemon.send(signal: SIGUSR1)
            #expect(daemon.waitForOutput(containing: Self.statsLine, count: count, timeout: 5))
        }
        let client = try TestClient(port: daemon.port, timeout: 5)
        try client.send(Array("still here".utf8))
        #expect(try client.receive(exactly: 10) == Array("still here".utf8))
        client.close() // else the stop lingers up to 5 s for it to close
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
        // One line per signal, and one at exit.
        #expect(daemon.stderr.components(separatedBy: Self.statsLine).count - 1 == 4)
    }

    private static let statsLine = "\"message\":\"stats\""
}

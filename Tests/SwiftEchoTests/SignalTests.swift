import Glibc
import Testing

/// The daemon's signals through the library's `SignalHandling`: a supervisor that signals
/// the process and then its group (GNU `timeout`) asks for one graceful stop, not two; a
/// repeat later than that stops at once; SIGHUP reloads.
@Suite struct SignalTests {
    /// Two SIGTERMs 1 ms apart: one graceful stop, logged once; the drain delivers every byte.
    @Test func twoStopSignalsAMillisecondApartAreOneGracefulStop() throws {
        let daemon = try Daemon.serving(["--shutdown-timeout", "10"])
        let payload = Payload.random(count: 200 << 10, seed: 17)
        let client = try TestClient(port: daemon.port, timeout: 10)
        try client.send(payload)  // and do not read yet: the drain has work to do
        #expect(waitUntil(timeout: 5) { (try? daemon.stats()["bytes.in"]) == UInt64(payload.count) })

        daemon.send(signal: SIGTERM)
        usleep(1_000)
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForOutput(containing: "stopping gracefully", timeout: 5))
        #expect(daemon.waitForExit(timeout: 0.5) == nil, "still draining: the client holds it open")
        #expect(mismatch(try client.receiveUntilEOF(), payload) == nil)
        client.close()
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
        #expect(daemon.stderr.components(separatedBy: "received SIGTERM").count - 1 == 1, "\(daemon.stderr)")
        #expect(!daemon.stderr.contains("stopping now"))
    }

    /// The same signal a second after the first is a second request: stop now, exit 143.
    @Test func theSameStopSignalASecondLaterStopsAtOnce() throws {
        let daemon = try Daemon.serving(["--shutdown-timeout", "30"])
        let client = try TestClient(port: daemon.port)
        #expect(try client.roundTrip(Array("held open".utf8)))
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForOutput(containing: "stopping gracefully", timeout: 5))
        #expect(daemon.waitForExit(timeout: 1) == nil, "draining: the client keeps it open")
        let start = monotonicSeconds()
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 2 * Sanitizer.slowdown) == .exited(128 + SIGTERM))
        #expect(monotonicSeconds() - start < Sanitizer.slowdown)
        #expect(daemon.stderr.contains("received SIGTERM again: stopping now"))
    }

    /// SIGHUP neither stops nor kills the daemon: a reload (with nothing to read again, it says
    /// so), and it keeps serving. (What reloads apply: ReloadDaemonTests.)
    @Test func hangupReloadsAndServesOn() throws {
        let daemon = try Daemon.serving([])
        daemon.send(signal: SIGHUP)
        #expect(daemon.waitForOutput(containing: "notice echo-cli: reloaded configuration: nothing changed", timeout: 5))
        let client = try TestClient(port: daemon.port)
        #expect(try client.roundTrip(Array("after SIGHUP".utf8)))
        client.close()
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
    }
}

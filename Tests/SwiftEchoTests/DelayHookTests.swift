import Glibc
@testable import SwiftEcho
import Testing

/// `--hook delay:MS` and `delay:MIN-MAX`: an echo after a delay, written with the public async
/// hook API, that never holds the loop.
@Suite struct DelayHookTests {
    @Test(arguments: [("delay:200", 200...200), ("delay:0", 0...0), ("DELAY:100-300", 100...300),
                      ("delay:5-5", 5...5), ("delay:3600000", 3_600_000...3_600_000)])
    func delaysParse(name: String, range: ClosedRange<Int>) throws {
        let hook = try configuration(["--hook", name]).hook
        #expect(hook == .delay(range))
        #expect(BuiltinHook(name: hook.description) == hook, "\(hook) prints back to a name that parses")
    }

    @Test(arguments: ["delay:", "delay:-1", "delay:300-100", "delay:3600001", "delay:1-", "delay:-5", "delay:a",
                      "delay:1-2-3", "delay: 5", "delay"])
    func badDelaysAreRefused(name: String) {
        let error = refusal(["--hook", name])
        #expect(error?.message.contains("delay:MS or delay:MIN-MAX (milliseconds, 0 to 3600000)") == true,
                "\(String(describing: error))")
    }

    /// A thousand connections delayed by 200 ms each are answered together, after about 200 ms:
    /// the delays overlap, no loop is held.
    @Test func aThousandDelayedConnectionsAreAnsweredTogether() throws {
        raiseOpenFilesLimit()
        let daemon = try Daemon.serving(["--hook", "delay:200", "--framing", "line", "--backlog", "2048"])
        let crowd = try Crowd(count: 1000, port: daemon.port)
        try crowd.waitConnected(timeout: 10 * Sanitizer.slowdown)
        let start = monotonicSeconds()
        let outcomes = crowd.exchange(timeout: 10 * Sanitizer.slowdown) { Array("connection \($0)\n".utf8) }
        let elapsed = monotonicSeconds() - start
        #expect(outcomes.allSatisfy { $0 == .echoed }, "\(outcomes.tally)")
        #expect(elapsed >= 0.2, "answered after \(elapsed) s: the delay did not happen")
        #expect(elapsed < 2 * Sanitizer.slowdown, "answered after \(elapsed) s: the delays did not overlap")
        crowd.close()
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 10) == .exited(0))
    }

    /// Random delays per message still answer a connection's messages in order.
    @Test func randomDelaysKeepOrder() throws {
        let daemon = try Daemon.serving(["--hook", "delay:0-20", "--framing", "line"])
        let client = try TestClient(port: daemon.port, timeout: 10)
        let lines = (0..<50).flatMap { Array("line \($0)\n".utf8) }
        try client.send(lines)
        #expect(try client.receive(exactly: lines.count) == lines)
        client.close()
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 10) == .exited(0))
    }
}

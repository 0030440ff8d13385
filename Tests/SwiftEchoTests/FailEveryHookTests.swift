@testable import SwiftEcho
import Testing

/// `--hook fail-every:N`, the built-in fault injection: parsing, then end to end.
@Suite struct FailEveryHookTests {
    @Test(arguments: [("fail-every:1", 1), ("fail-every:3", 3), ("FAIL-EVERY:10", 10), ("fail-every:007", 7)])
    func parsesTheCount(name: String, count: Int) throws {
        let hook = try configuration(["--hook", name]).hook
        #expect(hook == .failEvery(count))
        #expect(hook.description == "fail-every:\(count)")
        #expect(BuiltinHook(name: hook.description) == hook, "prints back to a name that parses")
    }

    @Test(arguments: ["fail-every:0", "fail-every:", "fail-every:-1", "fail-every:x", "fail-every:2.5",
                      "fail-every: 2", "fail-every:99999999999999999999999", "fail-every"])
    func refusesACountThatIsNotPositive(name: String) {
        let error = refusal(["--hook", name])
        #expect(error?.message.contains("'\(name)' is invalid for '--hook'") == true, "\(String(describing: error))")
        #expect(error?.message.contains("fail-every:N (N an integer ≥ 1)") == true)
    }

    @Test func theEnvironmentTakesItToo() throws {
        #expect(try configuration([], environment: ["ECHO_HOOK": "fail-every:2"]).hook == .failEvery(2))
    }

    /// Messages 1 and 2 come back byte for byte, message 3 throws: the connection closes after
    /// the two replies, the failure is logged and counted, and a second connection counts its
    /// own messages from 1.
    @Test(arguments: ["line", "length"])
    func failsEveryNthMessageOfEachConnection(framing: String) throws {
        let daemon = try Daemon.serving(["--hook", "fail-every:3", "--framing", framing])
        func framed(_ text: String) -> [UInt8] {
            framing == "line" ? Array("\(text)\n".utf8) : FramingTests.lengthFrame(Array(text.utf8))
        }
        let bystander = try TestClient(port: daemon.port)
        try bystander.send(framed("first"))
        #expect(try bystander.receive(exactly: framed("first").count) == framed("first"))

        let client = try TestClient(port: daemon.port)
        try client.send(framed("one") + framed("two") + framed("three") + framed("four"))
        #expect(try client.receiveUntilEOF() == framed("one") + framed("two"), "replies before the failure, then EOF")
        #expect(daemon.waitForOutput(containing: "injected failure at message 3", timeout: 5))
        #expect(try daemon.stats()["hooks.errors"] == 1)

        try bystander.send(framed("second"))
        #expect(try bystander.receive(exactly: framed("second").count) == framed("second"),
                "another connection's count is its own")
        client.close()
        bystander.close()
        daemon.expectDescriptorsAtBaseline()
    }

    /// Peers that reset while their failed connection is being closed: whichever call of the
    /// server meets the reset first (a send, or the shutdown of the lingering close, which
    /// sees ENOTCONN), it is counted as a reset, never as `errors.other`. Racy by nature, so
    /// many rounds; the soak run found it.
    @Test func resetsRacingTheFailureAreCountedAsResets() throws {
        let daemon = try Daemon.serving(["--hook", "fail-every:2", "--framing", "length"])
        let rounds = 300
        for round in 0..<rounds {
            let client = try TestClient(port: daemon.port)
            let size = 1 + (round * 7919) % 65536
            try client.send(FramingTests.lengthFrame(Payload.random(count: size, seed: UInt64(round)))
                + FramingTests.lengthFrame([1, 2, 3]))
            _ = try client.receive(exactly: 1)
            client.reset()
        }
        #expect(waitUntil(timeout: 10) { (try? daemon.stats()["closed"]) == UInt64(rounds) })
        let stats = try daemon.stats()
        #expect(stats["errors.other"] == 0, "\(stats)")
        #expect(stats["hooks.errors"] == UInt64(rounds))
        daemon.expectDescriptorsAtBaseline()
    }

    @Test func everyMessageFailsWithOne() throws {
        let daemon = try Daemon.serving(["--hook", "fail-every:1", "--framing", "line"])
        let client = try TestClient(port: daemon.port)
        try client.send(Array("x\n".utf8))
        #expect(try client.receiveUntilEOF() == [])
        #expect(try daemon.stats()["hooks.errors"] == 1)
    }
}

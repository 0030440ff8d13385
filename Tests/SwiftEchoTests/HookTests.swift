import Glibc
import Testing

/// The daemon's framing and built-in hooks, end to end.
@Suite struct HookTests {
    static let text = "Hello, Wörld! 123 abc XYZ"

    @Test(arguments: [
        ("upper", "HELLO, WöRLD! 123 ABC XYZ"),
        ("lower", "hello, wörld! 123 abc xyz"),
        ("rot13", "Uryyb, Jöeyq! 123 nop KLM"),
        ("prefix:>> ", ">> Hello, Wörld! 123 abc XYZ"),
        ("prefix:a:b", "a:bHello, Wörld! 123 abc XYZ"),
        ("echo", "Hello, Wörld! 123 abc XYZ"),
    ])
    func builtinHooksAnswerEachLine(hook: String, expected: String) throws {
        let daemon = try Daemon.serving(["--hook", hook, "--framing", "line"])
        let client = try TestClient(port: daemon.port)
        try client.send(Array("\(Self.text)\r\n\(Self.text)\n\n".utf8))
        let want = Array("\(expected)\r\n\(expected)\n\(hook.hasPrefix("prefix:") ? String(hook.dropFirst(7)) : "")\n".utf8)
        #expect(mismatch(try client.receive(exactly: want.count), want) == nil)
        client.close()
        daemon.expectDescriptorsAtBaseline()
    }

    @Test func reverseReversesBytesNotCharacters() throws {
        let daemon = try Daemon.serving(["--hook", "reverse", "--framing", "line"])
        let client = try TestClient(port: daemon.port)
        try client.send(Array("abc\n".utf8))
        #expect(try client.receive(exactly: 4) == Array("cba\n".utf8))
    }

    @Test func lengthFramingFramesTheReply() throws {
        let daemon = try Daemon.serving(["--hook", "upper", "--framing", "length"])
        let client = try TestClient(port: daemon.port)
        let frames = [Array("abc".utf8), [], Payload.random(count: 70_000, seed: 3)]
        for payload in frames { try client.send(FramingTests.lengthFrame(payload)) }
        for payload in frames {
            let expected = FramingTests.lengthFrame(payload.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 })
            #expect(mismatch(try client.receive(exactly: expected.count), expected) == nil)
        }
    }

    @Test(arguments: ["line", "length"])
    func echoWithFramingIsByteExact(framing: String) throws {
        let daemon = try Daemon.serving(["--framing", framing])
        let payloads = (0..<50).map { Payload.random(count: $0 * 37, seed: UInt64($0)).filter { $0 != 10 } }
        let stream: [UInt8] = framing == "line" ? payloads.flatMap { $0 + [10] } : payloads.flatMap(FramingTests.lengthFrame)
        #expect(mismatch(try exchange(stream, port: daemon.port), stream) == nil)
    }

    /// Raw framing hands each read to the hook as it arrives.
    @Test func rawFramingTransformsEachChunk() throws {
        let daemon = try Daemon.serving(["--hook", "upper"])
        let payload = Payload.random(count: 300_000, seed: 4)
        let echoed = try exchange(payload, port: daemon.port)
        #expect(mismatch(echoed, payload.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }) == nil)
    }

    /// Messages before the oversized one are answered; then the connection closes, logged and
    /// counted, and others are unaffected.
    @Test(arguments: ["line", "length"])
    func aMessageOverMaxMessageClosesOnlyItsConnection(framing: String) throws {
        let daemon = try Daemon.serving(["--framing", framing, "--max-message", "100", "--hook", "upper"])
        let bystander = try TestClient(port: daemon.port)
        let client = try TestClient(port: daemon.port)
        let small = Array("ok".utf8), big = [UInt8](repeating: 97, count: 101)
        let stream = framing == "line" ? small + [10] + big + [10] : FramingTests.lengthFrame(small) + FramingTests.lengthFrame(big)
        try client.send(stream)
        let firstReply = framing == "line" ? Array("OK\n".utf8) : FramingTests.lengthFrame(Array("OK".utf8))
        #expect(try client.receiveUntilEOF() == firstReply)
        #expect(try daemon.stats()["messages.too_large"] == 1)
        #expect(daemon.stderr.contains("message over max-message"))
        let question = framing == "line" ? Array("x\n".utf8) : FramingTests.lengthFrame(Array("x".utf8))
        let answer = framing == "line" ? Array("X\n".utf8) : FramingTests.lengthFrame(Array("X".utf8))
        try bystander.send(question)
        #expect(try bystander.receive(exactly: answer.count) == answer, "other connections are unaffected")
        client.close()
        bystander.close()
        daemon.expectDescriptorsAtBaseline()
    }

    /// A client that drips one byte every 300 ms never finishes a line: it is not idle, but
    /// the frame timeout closes it.
    @Test func theFrameTimeoutClosesADrippingClient() throws {
        let daemon = try Daemon.serving(["--framing", "line", "--frame-timeout", "1", "--idle-timeout", "5"])
        let client = try TestClient(port: daemon.port)
        let start = monotonicSeconds()
        var closed = false
        while monotonicSeconds() - start < 4 {
            _ = client.sendWithoutBlocking([97])
            if client.outcome(within: 0.3) == .closed { closed = true; break }
        }
        #expect(closed)
        let took = monotonicSeconds() - start
        #expect(took >= 0.9 && took < 3, "closed after \(took) s")
        let stats = try daemon.stats()
        #expect(stats["timeouts.frame"] == 1, "\(stats)")
        client.close()
        daemon.expectDescriptorsAtBaseline()
    }

    /// At the client's FIN a last line without its terminator is still a message (answered
    /// without one); an incomplete length frame is not.
    @Test func theLastUnterminatedLineIsAnsweredAtEOF() throws {
        let lines = try Daemon.serving(["--hook", "upper", "--framing", "line"])
        #expect(try exchange(Array("abc\ndef".utf8), port: lines.port) == Array("ABC\nDEF".utf8))
        let frames = try Daemon.serving(["--hook", "upper", "--framing", "length"])
        let whole = FramingTests.lengthFrame(Array("abc".utf8))
        #expect(try exchange(whole + [0, 0, 0, 9, 1], port: frames.port) == FramingTests.lengthFrame(Array("ABC".utf8)))
    }

    @Test func anUnknownHookIsAUsageError() throws {
        let run = try Daemon.run(["--hook", "shout"])
        #expect(run.termination == .exited(64))
        #expect(run.stderr.contains("'--hook'") && run.stderr.contains("shout") && run.stderr.contains("prefix:TEXT"))
    }
}

import Foundation
import Glibc
import Testing
import cecho
@testable import SwiftEcho

/// Whether this kernel lets io_uring run: empty, or why not.
enum IOUring {
    static let refusal: String = {
        var text = [CChar](repeating: 0, count: 256)
        guard ce_backend_probe("io_uring", &text, text.count) != 0 else { return "" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}

/// The completion engine keeps every promise of the daemon. The per-backend suites (echo,
/// partial writes, resets, half-close, limits, shutdown, churn, descriptor pressure, lossy
/// paths) run on io_uring through `EchoTests.backends`; these cover the rest once on it:
/// hooks and framing, the timeouts, back pressure, deferred replies, the stops, several loops,
/// UDP, Unix sockets, socket activation, and running out of receive buffers. And where the kernel
/// refuses io_uring, the daemon says why. One test at a time: each blocks a thread of the task
/// pool, which the tests with tasks (deferred replies) need too.
@Suite(.serialized, .enabled(if: IOUring.refusal.isEmpty, "io_uring cannot run here: \(IOUring.refusal)"))
struct IOUringTests {
    private func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }

    @Test func hooksAndFramingAnswerEveryMessage() throws {
        let lines = try Daemon.serving(["--backend", "io_uring", "--framing", "line", "--hook", "upper"])
        let client = try TestClient(port: lines.port)
        try client.send(line("one") + Array("two\r\nthr".utf8))
        try client.send(line("ee"))
        #expect(try client.receive(exactly: 15) == Array("ONE\nTWO\r\nTHREE\n".utf8))
        let lengths = try Daemon.serving(["--backend", "io_uring", "--framing", "length", "--hook", "reverse"])
        let framed = try TestClient(port: lengths.port)
        try framed.send([0, 0, 0, 3] + Array("abc".utf8) + [0, 0, 0, 0])
        #expect(try framed.receive(exactly: 11) == [0, 0, 0, 3] + Array("cba".utf8) + [0, 0, 0, 0])
        // A message cut across receives is completed by the next one, in order, wherever the
        // kernel put it: more than the cut part's length, and a whole message behind it.
        let cut = try TestClient(port: lines.port)
        try cut.send(Array("thr".utf8))
        usleep(50_000)
        try cut.send(Array("ee\nfour\nfi".utf8))
        usleep(50_000)
        try cut.send(line("ve"))
        #expect(try cut.receive(exactly: 16) == Array("THREE\nFOUR\nFIVE\n".utf8))
        // A length-framed message larger than a small receive buffer, sent in parts.
        let large = Payload.random(count: 10_000, seed: 9)
        let framedLarge = [0, 0, 0x27, 0x10] + large
        for part in stride(from: 0, to: framedLarge.count, by: 3_000) {
            try framed.send(Array(framedLarge[part..<min(part + 3_000, framedLarge.count)]))
            usleep(30_000)
        }
        #expect(mismatch(try framed.receive(exactly: framedLarge.count), [0, 0, 0x27, 0x10] + large.reversed()) == nil)
        // 16 KiB messages start on small buffers and move to large ones: nothing lost or reordered.
        let big = (0..<20).map { Payload.random(count: 16 << 10, seed: UInt64($0)) }
        let echo = try Daemon.serving(["--backend", "io_uring"])
        let streamer = try TestClient(port: echo.port, timeout: 10)
        let sent = big.joined().map { $0 }
        try streamer.send(sent)
        #expect(mismatch(try streamer.receive(exactly: sent.count), sent) == nil)
    }

    @Test func theTimeoutsCloseWhatTheySay() throws {
        let lines = try Daemon.serving(["--backend", "io_uring", "--framing", "line", "--idle-timeout", "0.6",
                                        "--frame-timeout", "0.3"])
        let idle = try TestClient(port: lines.port)
        let partial = try TestClient(port: lines.port)
        try partial.send(Array("no newline yet".utf8))
        let raw = try Daemon.serving(["--backend", "io_uring", "--write-timeout", "0.5", "--output-limit", "64KiB"])
        let stalled = try TestClient(port: raw.port, receiveBuffer: 4096)
        _ = stalled.sendUntilStalled(quiet: 0.3, limit: 8 << 20)
        #expect(waitUntil(timeout: 5) {
            guard let stats = try? lines.stats() else { return false }
            return stats["timeouts.idle"] == 1 && stats["timeouts.frame"] == 1
        }, "\(String(describing: try? lines.stats()))")
        #expect(waitUntil(timeout: 5) { (try? raw.stats()["timeouts.write"]) == 1 })
        #expect(try raw.stats()["backpressure.pauses"]! >= 1)
        #expect(idle.outcome(within: 1) == .closed && partial.outcome(within: 1) == .closed)
        lines.expectDescriptorsAtBaseline()
        raw.expectDescriptorsAtBaseline()
    }

    /// Replies computed later by tasks go out in message order.
    @Test func deferredRepliesKeepMessageOrder() async throws {
        let server = try startServer(Hook { message, reply in
            let later = reply.replyLater()
            let text = message.text
            // From another thread, later (not a Task: the test run keeps the task pool busy).
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds((text.count % 3) * 10)) {
                later.send("re: \(text)")
            }
        }) { $0.backend = .ioUring }
        let port = server.port
        let words = (0..<20).map { "w\($0)" }
        let expected = words.flatMap { line("re: \($0)") }
        let received = try await onThread {
            let client = try TestClient(port: port, timeout: 30)
            try client.send(words.flatMap { self.line($0) })
            return try client.receive(exactly: expected.count)
        }
        #expect(mismatch(received, expected) == nil)
        try await onThread { try server.stopAndWait() }
    }

    @Test func aGracefulStopDrainsAndASecondSignalStopsAtOnce() throws {
        let daemon = try Daemon.serving(["--backend", "io_uring"])
        let client = try TestClient(port: daemon.port, timeout: 10)
        let payload = Payload.random(count: 1 << 20, seed: 5)
        let sender = Background {
            try client.send(payload)
            client.shutdownWrite()
        }
        usleep(20_000)
        daemon.send(signal: SIGTERM)
        let echoed = try client.receiveUntilEOF()
        try sender.value(timeout: 10)
        #expect(echoed.count <= payload.count && mismatch(echoed, Array(payload.prefix(echoed.count))) == nil)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))

        let second = try Daemon.serving(["--backend", "io_uring", "--shutdown-timeout", "30"])
        let stuck = try TestClient(port: second.port, receiveBuffer: 4096)
        _ = stuck.sendUntilStalled(quiet: 0.3, limit: 8 << 20)
        second.send(signal: SIGTERM)
        #expect(second.waitForOutput(containing: "stopping gracefully", timeout: 5))
        usleep(250_000)  // past the 200 ms in which a repeat is the same request
        second.send(signal: SIGTERM)
        #expect(second.waitForExit(timeout: 5) == .exited(128 + SIGTERM))
    }

    /// Two loops, each with its ring: the kernel spreads TCP over their listeners, and a Unix
    /// listener's connections are handed from the first loop to the other.
    @Test func everyLoopServesWithItsOwnRing() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("echo.sock")
        var configuration = Configuration()
        configuration.backend = .ioUring
        configuration.threads = 2
        configuration.listen = [.tcp(host: "127.0.0.1", port: 0), .unix(path: path)]
        let server = EchoServer(configuration: configuration, logger: Logger(label: "test", logLevel: .error))
        try server.start()
        let port = server.localAddresses.compactMap(\.port).first ?? 0
        let clients = try (0..<40).map { _ in try TestClient(port: port) } + (0..<4).map { _ in try TestClient(unixPath: path) }
        for (index, client) in clients.enumerated() { #expect(try client.roundTrip(Payload.random(count: 700, seed: UInt64(index)))) }
        let perLoop = server.statsPerLoop.map(\.accepted)
        #expect(perLoop.count == 2 && perLoop.allSatisfy { $0 > 0 }, "accepted per loop: \(perLoop)")
        clients.forEach { $0.close() }
        try server.stopAndWait(graceful: true)
    }

    @Test func udpUnixSocketsAndSocketActivation() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("echo.sock")
        let daemon = try Daemon.serving(["--backend", "io_uring", "--udp"], listen: ["127.0.0.1:0", "unix:\(path)"])
        let datagrams = try UDPClient(port: daemon.port)
        for size in [1, 1400, 65507] {
            let payload = Payload.random(count: size, seed: UInt64(size))
            #expect(try datagrams.roundTrip(payload) == payload, "a datagram of \(size) bytes")
        }
        let local = try TestClient(unixPath: path)
        #expect(try local.roundTrip(Payload.random(count: 100_000, seed: 9)))

        let held = try HeldPort()
        let activated = try Daemon(["--backend", "io_uring"], environment: ["LISTEN_FDS": "1"],
                                   shellPrefix: "export LISTEN_PID=$$", passing: [held.fd])
        #expect(activated.waitForOutput(containing: "listening on 127.0.0.1:\(held.port), backend io_uring", timeout: 10),
                "stderr:\n\(activated.stderr)")
        let client = try TestClient(port: held.port)
        #expect(try client.roundTrip(Payload.random(count: 5000, seed: 2)))
    }

    /// Four clients send and do not read: the server's sends stall, the pieces it holds use up
    /// the receive buffers (16 small and 8 large with --max-connections 4), receiving waits
    /// (ENOBUFS), and once the clients read, everything comes back byte for byte.
    @Test func runningOutOfReceiveBuffersWaitsAndLosesNothing() throws {
        let daemon = try Daemon.serving(["--backend", "io_uring", "--max-connections", "4", "--output-limit", "4MiB",
                                         "--log-level", "debug"])
        let payloads = (0..<4).map { Payload.random(count: 12 << 20, seed: UInt64(40 + $0)) }
        let clients = try payloads.map { _ in try TestClient(port: daemon.port, timeout: 30, receiveBuffer: 4096) }
        let senders = zip(clients, payloads).map { client, payload in Background { try client.send(payload) } }
        #expect(daemon.waitForOutput(containing: "receive buffers: waiting for some to come back", timeout: 10 * Sanitizer.slowdown))
        let cpu = daemon.probe.cpuSeconds
        usleep(500_000)
        #expect(daemon.probe.cpuSeconds - cpu < 0.2 * Sanitizer.slowdown, "the loop spins while out of buffers")
        let readers = zip(clients, payloads).map { client, payload in
            Background { try client.receive(exactly: payload.count) }
        }
        for (index, reader) in readers.enumerated() {
            #expect(mismatch(try reader.value(timeout: 60), payloads[index]) == nil, "client \(index)")
        }
        for sender in senders { try sender.value(timeout: 10) }
        clients.forEach { $0.close() }
        daemon.expectDescriptorsAtBaseline()
    }
}

/// Where the kernel refuses io_uring (here: a seccomp filter on io_uring_setup, as a container
/// runtime installs), `--backend io_uring` exits 71 naming the reason, and `auto` serves on.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "needs python3 for the seccomp filter"))
struct IOUringRefusalTests {
    /// Installs a seccomp filter that fails io_uring_setup (425 on every architecture) with
    /// EPERM, then execs its arguments. Python's ctypes, so that no C helper is needed.
    private static let filter = """
        import ctypes, os, struct, sys
        libc = ctypes.CDLL(None, use_errno=True)
        code = [(0x20, 0, 0, 0), (0x15, 0, 1, 425), (0x06, 0, 0, 0x00050000 | 1), (0x06, 0, 0, 0x7fff0000)]
        program = b"".join(struct.pack("HBBI", *c) for c in code)
        buffer = ctypes.create_string_buffer(program)
        fprog = struct.pack("HxxxxxxQ", len(code), ctypes.addressof(buffer))
        if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0) != 0:
            sys.exit("seccomp: " + os.strerror(ctypes.get_errno()))
        os.execv(sys.argv[1], sys.argv[1:])
        """

    private func filtered(_ arguments: [String], in directory: TemporaryDirectory) throws -> Daemon {
        let script = directory.file("deny-io_uring.py")
        try Self.filter.write(toFile: script, atomically: true, encoding: .utf8)
        return try Daemon([script, Daemon.binaryPath, "--port", "0"] + arguments, program: "/usr/bin/python3")
    }

    @Test func theDaemonSaysWhyAndExitsSeventyOne() throws {
        let directory = try TemporaryDirectory()
        let refused = try filtered(["--backend", "io_uring"], in: directory)
        #expect(refused.waitForExit(timeout: 10) == .exited(71))
        #expect(refused.stderr.contains("io_uring_setup(): Operation not permitted (kernel.io_uring_disabled, a seccomp filter"),
                "stderr:\n\(refused.stderr)")
        #expect(!refused.stderr.contains("listening on"))
        let auto = try filtered([], in: directory)
        #expect(auto.waitForOutput(containing: "listening on", timeout: 10), "stderr:\n\(auto.stderr)")
        #expect(auto.stderr.contains("backend epoll"))
        let client = try TestClient(port: Int(auto.stderr.split(separator: "listening on 127.0.0.1:")[1].prefix { $0.isNumber })!)
        #expect(try client.roundTrip([1, 2, 3]))
    }
}

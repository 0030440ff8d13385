import Dispatch
import Glibc
@testable import SwiftEcho
import Testing

/// `--threads N`: several event loops, each on its own thread with its own connections, fed
/// by a listener per loop on a shared port (SO_REUSEPORT) or by one loop handing connections
/// to the others in turn. Every test runs both ways.
@Suite(.serialized) struct ThreadsTests {
    /// How connections reach the loops.
    enum Spreading: String, CaseIterable, CustomTestStringConvertible {
        case sharedPort  // the kernel spreads them over one listener per loop
        case handOff     // the first loop accepts and deals them out, round-robin
        var testDescription: String { rawValue }
    }

    /// A started server with `threads` loops on a free port, answering lines with `hook`.
    private func startServer(threads: Int = 2, _ spreading: Spreading, hook: Hook? = nil,
                             _ change: (inout Configuration) -> Void = { _ in }) throws -> EchoServer {
        var configuration = Configuration(port: 0, threads: threads)
        change(&configuration)
        let server = EchoServer(configuration: configuration, hook: hook, logger: quietLogger,
                                handsOffConnections: spreading == .handOff)
        try server.start()
        return server
    }

    private func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }

    /// With two loops, both take connections, and the server's counters are the sum of theirs.
    /// Hand-off deals them strictly in turn; the kernel's hash only has to use both.
    @Test(arguments: Spreading.allCases)
    func everyLoopServes(_ spreading: Spreading) throws {
        let server = try startServer(spreading)
        let clients = try (0..<40).map { _ in try TestClient(port: server.port) }
        for (i, client) in clients.enumerated() {
            #expect(try client.roundTrip(Payload.random(count: 100 + i, seed: UInt64(i))))
        }
        let perLoop = server.statsPerLoop.map(\.accepted)
        #expect(perLoop.count == 2)
        #expect(perLoop.allSatisfy { $0 > 0 }, "accepted per loop: \(perLoop)")
        if spreading == .handOff { #expect(perLoop == [20, 20]) }
        let bytes = UInt64((0..<40).reduce(0) { $0 + 100 + $1 })
        // bytes.out is counted once send() returns, which can be after the client has the echo
        #expect(waitUntil(timeout: 2 * Sanitizer.slowdown) { server.stats.bytesOut == bytes })
        let total = server.stats
        #expect(total.accepted == 40 && total.active == 40 && total.bytesIn == bytes && total.bytesOut == bytes)
        clients.forEach { $0.close() }
        #expect(waitUntil(timeout: 2 * Sanitizer.slowdown) { server.stats.closed == 40 })
        try server.stopAndWait()
        #expect(server.stats.accepted == 40 && server.statsPerLoop.map(\.accepted) == perLoop,
                "the final counters are the loops' too")
    }

    /// A Unix socket cannot be shared by port: its one listener hands connections to every
    /// loop in turn, while TCP beside it still has a listener per loop.
    @Test func aUnixSocketsConnectionsGoToEveryLoop() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("threads.sock")
        let server = try startServer(.sharedPort) { $0.listen = [.unix(path: path), .tcp(host: "127.0.0.1", port: 0)] }
        let clients = try (0..<10).map { _ in try TestClient(unixPath: path) }
        for (i, client) in clients.enumerated() { #expect(try client.roundTrip(Payload.random(count: 50, seed: UInt64(i)))) }
        #expect(server.statsPerLoop.map(\.accepted) == [5, 5])
        let tcp = try TestClient(port: server.port)
        #expect(try tcp.roundTrip(line("tcp too")))
        (clients + [tcp]).forEach { $0.close() }
        try server.stopAndWait()
        #expect(server.stats.accepted == 11)
    }

    /// Each connection's handler runs on one thread, its loop's, from open to close; the
    /// connections spread over both loops' threads.
    @Test(arguments: Spreading.allCases)
    func aConnectionsHandlerStaysOnItsLoopsThread(_ spreading: Spreading) throws {
        let threads = ThreadLog()
        let server = try startServer(spreading, hook: .handler { ThreadRecorder(log: threads, connection: $0) })
        let clients = try (0..<40).map { _ in try TestClient(port: server.port) }
        for client in clients {
            try client.send(line("ping"))
            #expect(try client.receive(exactly: 5) == line("ping"))
        }
        clients.forEach { $0.close() }
        #expect(waitUntil(timeout: 2 * Sanitizer.slowdown) { threads.closedCount == 40 })
        let perConnection = threads.perConnection
        #expect(perConnection.count == 40)
        #expect(perConnection.values.allSatisfy { $0.count == 1 }, "a handler ran on two threads")
        #expect(Set(perConnection.values.flatMap { $0 }).count == 2, "the connections used both loops")
        try server.stopAndWait()
    }

    /// `run()` serves on the calling thread and one more: handlers see both.
    @Test func runServesOnTheCallingThreadAndTheOthers() throws {
        let threads = ThreadLog()
        let server = EchoServer(configuration: Configuration(port: 0, threads: 2),
                                hook: .handler { ThreadRecorder(log: threads, connection: $0) }, logger: quietLogger,
                                handsOffConnections: true)  // strictly in turn: both loops certainly serve
        let caller = Locked<pthread_t?>(nil)
        let runner = Background {
            caller.withLock { $0 = pthread_self() }
            try server.run()
        }
        #expect(waitUntil(timeout: 5) { !server.localAddresses.isEmpty })
        for _ in 0..<4 {
            let client = try TestClient(port: server.port)
            #expect(try client.roundTrip(line("x")))
            client.close()
        }
        #expect(waitUntil(timeout: 2 * Sanitizer.slowdown) { threads.closedCount == 4 })
        let seen = Set(threads.perConnection.values.flatMap { $0 })
        #expect(seen.count == 2 && seen.contains(UInt(caller.withLock { $0! })), "threads: \(seen)")
        server.stop(graceful: false)
        try runner.value(timeout: 5)
    }

    /// `--max-connections` counts the whole process, not each loop: with a cap of 5 and two
    /// loops, 5 of 12 connections are served, 7 refused; closed ones free their slots.
    @Test(arguments: Spreading.allCases)
    func theConnectionCapHoldsAcrossLoops(_ spreading: Spreading) throws {
        let server = try startServer(spreading) { $0.maxConnections = 5 }
        let crowd = try Crowd(count: 12, port: server.port)
        try crowd.waitConnected(timeout: 5)
        #expect(waitUntil(timeout: 2 * Sanitizer.slowdown) { server.stats.accepted + server.stats.refused == 12 })
        let outcomes = crowd.exchange(timeout: 2 * Sanitizer.slowdown) { Payload.random(count: 64, seed: UInt64($0)) }
        #expect(outcomes.filter { $0 == .echoed }.count == 5, "\(outcomes.tally)")
        let stats = server.stats
        #expect(stats.accepted == 5 && stats.refusedMaxConnections == 7, "\(stats)")
        crowd.close()
        #expect(waitUntil(timeout: 2 * Sanitizer.slowdown) { server.stats.active == 0 })
        let again = try Crowd(count: 5, port: server.port)
        try again.waitConnected(timeout: 5)
        let later = again.exchange(timeout: 2 * Sanitizer.slowdown) { Payload.random(count: 64, seed: UInt64($0)) }
        #expect(later.allSatisfy { $0 == .echoed }, "slots come back when connections close: \(later.tally)")
        again.close()
        try server.stopAndWait()
    }

    /// A deferred reply completed on another thread reaches its own connection's loop.
    @Test(arguments: Spreading.allCases)
    func deferredRepliesReachTheirOwnLoop(_ spreading: Spreading) throws {
        let server = try startServer(spreading, hook: Hook { message, reply in
            let later = reply.replyLater()
            let text = message.text
            DispatchQueue.global().async { later.send("re: \(text)") }
        })
        let clients = try (0..<20).map { _ in try TestClient(port: server.port) }
        for (i, client) in clients.enumerated() {
            try client.send(line("m\(i)"))
            #expect(try client.receive(exactly: line("re: m\(i)").count) == line("re: m\(i)"))
        }
        #expect(server.stats.lateReplies == 0)
        #expect(server.statsPerLoop.allSatisfy { $0.accepted > 0 })
        clients.forEach { $0.close() }
        try server.stopAndWait()
    }

    /// A graceful stop drains every loop: each client gets its pending echo, then EOF; the
    /// server ends once they are done, nothing forced.
    @Test(arguments: Spreading.allCases)
    func aGracefulStopDrainsEveryLoop(_ spreading: Spreading) throws {
        let server = try startServer(spreading) { $0.shutdownTimeout = .seconds(10) }
        // 40 clients: with a shared port the kernel's hash leaves a loop without one in 2^-39
        // of runs (10 would be 1 in 512).
        let clients = try (0..<40).map { _ in try TestClient(port: server.port) }
        for client in clients { #expect(try client.roundTrip(line("hello"))) }
        #expect(server.statsPerLoop.allSatisfy { $0.active > 0 })
        let payload = Payload.random(count: 3000, seed: 9)
        for client in clients { try client.send(payload) }
        #expect(waitUntil(timeout: 2 * Sanitizer.slowdown) { server.stats.bytesIn == 40 * (6 + 3000) })
        server.stop(graceful: true)
        for client in clients {
            #expect(try client.receiveUntilEOF() == payload)
            client.close()
        }
        try Background { server.wait() }.value(timeout: 5 * Sanitizer.slowdown)
        #expect(server.stats.closed == 40 && server.stats.shutdownForced == 0)
    }

    /// An immediate stop closes every loop's connections at once.
    @Test(arguments: Spreading.allCases)
    func anImmediateStopClosesEveryLoop(_ spreading: Spreading) throws {
        let server = try startServer(spreading) { $0.shutdownTimeout = .seconds(60) }
        let clients = try (0..<10).map { _ in try TestClient(port: server.port) }
        for client in clients { #expect(try client.roundTrip(line("hello"))) }
        try server.stopAndWait(graceful: false, timeout: 5 * Sanitizer.slowdown)
        #expect(server.stats.shutdownForced == 10)
        for client in clients { #expect(client.outcome(within: 2) == .closed) }
    }

    /// The daemon: `--threads 2` logs its address once, and its stats line adds the loops up.
    @Test func theDaemonListensOnceAndCountsEveryLoop() throws {
        let daemon = try Daemon.serving(["--threads", "2"])
        #expect(daemon.stderr.contains("threads=2"))
        for i in 0..<20 {
            let client = try TestClient(port: daemon.port)
            #expect(try client.roundTrip(Payload.random(count: 500, seed: UInt64(i))))
            client.close()
        }
        #expect(waitUntil(timeout: 5) { (try? daemon.stats()["closed"]) == 20 })
        let stats = try daemon.stats()
        #expect(stats["accepted"] == 20 && stats["bytes.in"] == 10_000 && stats["bytes.out"] == 10_000)
        // Counted after the stats line, so a second line the other loop might log has had time.
        #expect(daemon.stderr.components(separatedBy: "listening on").count - 1 == 1, "\(daemon.stderr)")
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5 * Sanitizer.slowdown) == .exited(0))
        #expect(daemon.stderr.contains("accepted=20 "), "the exit stats line adds up too")
    }

    /// `--threads 0`: one loop per CPU the process may run on, so pinned to one CPU it is one.
    @Test(.enabled(if: access("/usr/bin/taskset", X_OK) == 0, "needs taskset"))
    func zeroThreadsMeansOnePerAllowedCPU() throws {
        let daemon = try Daemon(["-c", "0", Daemon.binaryPath, "--port", "0"],
                                environment: ["ECHO_THREADS": "0"], program: "/usr/bin/taskset")
        #expect(daemon.waitForOutput(containing: "listening on", timeout: 10), "\(daemon.stderr)")
        #expect(daemon.stderr.contains("threads=1 "), "\(daemon.stderr)")
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5 * Sanitizer.slowdown) == .exited(0))
    }

    /// Out-of-range thread counts from each source: exit 64 (78 for the file), one line
    /// naming the setting.
    @Test(arguments: [
        ConfigurationCase(flags: ["--threads", "1025"], status: 64, mention: "'--threads'"),
        ConfigurationCase(flags: ["--threads", "-1"], status: 64, mention: "'--threads'"),
        ConfigurationCase(environment: ["ECHO_THREADS": "many"], status: 64, mention: "ECHO_THREADS"),
        ConfigurationCase(file: #"{"threads": 5000}"#, status: 78, mention: "threads"),
    ])
    func aBadThreadCountIsAUsageError(_ example: ConfigurationCase) throws {
        let run = try example.run(after: ["--port", "0"])
        #expect(run.termination == .exited(example.status), "stderr: \(run.stderr)")
        #expect(run.stderr.hasPrefix("Error: ") && run.stderr.contains(example.mention), "stderr: \(run.stderr)")
        #expect(!run.stderr.contains("listening on"))
    }
}

/// Which threads each connection's handler ran on, by connection id and loop thread.
private final class ThreadLog: Sendable {
    private let entries = Locked<[String: Set<UInt>]>([:])
    private let closed = Locked(0)

    func record(_ connection: Connection) {
        // ids are unique per loop only: the peer's port tells connections apart
        _ = entries.withLock { $0[connection.peerAddress, default: []].insert(UInt(pthread_self())) }
    }

    func recordClose(_ connection: Connection) {
        record(connection)
        closed.withLock { $0 += 1 }
    }

    var closedCount: Int { closed.withLock { $0 } }
    var perConnection: [String: Set<UInt>] { entries.withLock { $0 } }
}

/// Echoes, noting the thread of every call.
private final class ThreadRecorder: ConnectionHandler {
    let log: ThreadLog
    let connection: Connection
    init(log: ThreadLog, connection: Connection) {
        self.log = log
        self.connection = connection
    }
    func connectionOpened(_ connection: Connection) { log.record(connection) }
    func messageReceived(_ message: borrowing Message, reply: inout Reply) {
        log.record(connection)
        reply.write(message)
    }
    func connectionClosed(_ connection: Connection, reason: CloseReason) { log.recordClose(connection) }
}

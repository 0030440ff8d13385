import Foundation
import Glibc
@testable import SwiftEcho
import Synchronization
import Testing

/// Async hooks: answers in order, state on the loop's thread after `await`, failures, and
/// tasks owned by the server (a stop waits for them or cancels them; none outlives `run()`).
@Suite struct AsyncHookTests {
    private func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }

    private func finish(_ server: EchoServer, graceful: Bool = false) throws {
        server.stop(graceful: graceful)
        try Background { server.wait() }.value(timeout: 10 * Sanitizer.slowdown)
    }

    /// A hook that never suspends is answered in place; each form of reply works.
    @Test func anAsyncHookThatDoesNotSuspendAnswersEachMessage() throws {
        let server = try startServer(.async { message -> AsyncReply in
            switch message.text {
            case "quiet": .decline
            case "bytes": .send([0x41, 0x42])
            case "bye": .send("bye", thenClose: true)
            default: .send(message.text.uppercased())
            }
        })
        let client = try TestClient(port: server.port)
        try client.send(line("abc") + line("quiet") + line("bytes") + line("bye") + line("unanswered"))
        #expect(try client.receiveUntilEOF() == line("ABC") + line("AB") + line("bye"))
        try finish(server)
        #expect(server.hookTasks.count == 0)
    }

    /// Pipelined messages whose answers take different times still come back in order.
    @Test func answersKeepMessageOrderUnderPipelining() throws {
        let server = try startServer(.async { message in
            try await Task.sleep(for: .microseconds(Int.random(in: 0...3000)))
            return message.bytes
        })
        let lines = (0..<200).map { "message \($0)" }
        let client = try TestClient(port: server.port, timeout: 20)
        try client.send(lines.flatMap(line))
        let expected = lines.flatMap(line)
        #expect(try client.receive(exactly: expected.count) == expected)
        try finish(server)
    }

    /// A handler's state is touched after `await` on its loop's thread, with no lock (TSan
    /// checks it); so is an actor whose executor is the loop's.
    @Test func handlerStateAfterAwaitIsOnTheLoopThread() throws {
        actor Tally {
            let executor: LoopExecutor
            nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
            var total = 0
            init(executor: LoopExecutor) { self.executor = executor }
            func add() -> Int {
                executor.preconditionIsolated()
                total += 1
                return total
            }
        }
        final class Session: AsyncConnectionHandler {
            var count = 0
            var tally: Tally?
            let wrongThread = Atomic(0)
            func connectionOpened(_ connection: Connection) {
                tally = Tally(executor: LoopExecutor.current!)
            }
            func messageReceived(_ message: AsyncMessage) async throws -> AsyncReply {
                let executor = LoopExecutor.current
                count += 1
                try await Task.sleep(for: .milliseconds(1))
                let total = await tally!.add()
                if LoopExecutor.current !== executor || executor == nil { wrongThread.add(1, ordering: .relaxed) }
                count += 1
                return .send("\(count) \(total)")
            }
        }
        let session = Locked<Session?>(nil)
        let server = try startServer(.asyncHandler { _ in
            let made = Session()
            session.withLock { $0 = made }
            return made
        })
        let client = try TestClient(port: server.port)
        try client.send(line("a") + line("b") + line("c"))
        let expected = line("2 1") + line("4 2") + line("6 3")
        #expect(try client.receive(exactly: expected.count) == expected)
        try finish(server)
        #expect(session.withLock { $0?.wrongThread.load(ordering: .relaxed) } == 0)
    }

    /// An error thrown after `await` closes only its connection, after the replies before it,
    /// logged and counted like a closure hook's.
    @Test func anAsyncFailureClosesOnlyItsConnection() throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "refused by the test" } }
        let sink = CapturingSink()
        let server = try startServer(.async { message in
            await Task.yield()
            if message.text == "fail" { throw Refused() }
            return message.text
        }, sink: sink)
        let failing = try TestClient(port: server.port), other = try TestClient(port: server.port)
        try failing.send(line("one") + line("fail") + line("after"))
        #expect(try failing.receiveUntilEOF() == line("one"))
        #expect(try other.roundTrip(line("still served")))
        #expect(server.stats.hookErrors == 1)
        #expect(sink.lines.contains { $0.contains("hook failed") && $0.contains("refused by the test") })
        try finish(server)
    }

    /// Over UDP each datagram is answered by its own task, in place or after a suspension.
    @Test func datagramsAreAnsweredByAsyncHooks() throws {
        let server = try startServer(.async { message in
            if message.text == "later" { try await Task.sleep(for: .milliseconds(20)) }
            return message.text.uppercased()
        }) { $0.udp = true }
        let client = try UDPClient(port: server.port)
        #expect(try client.roundTrip(Array("now".utf8)) == Array("NOW".utf8))
        #expect(try client.roundTrip(Array("later".utf8)) == Array("LATER".utf8))
        try finish(server)
        #expect(server.hookTasks.count == 0)
    }

    /// A graceful stop waits for the answers in flight, and `run()` returns after them.
    @Test func aGracefulStopWaitsForAnswersInFlight() async throws {
        let started = Atomic(false)
        let server = EchoServer(configuration: Configuration(port: 0, shutdownTimeout: .seconds(10), framing: .line),
                                hook: .async { message in
                                    started.store(true, ordering: .releasing)
                                    try await Task.sleep(for: .milliseconds(500))
                                    return message.bytes
                                }, logger: quietLogger)
        let serving = Task { try await server.run() }
        let port = try #require(try await withTimeout(5) { try await server.waitUntilListening() }.first?.port)
        let client = try await onThread {
            let client = try TestClient(port: port, timeout: 10)
            try client.send(Array("slow\n".utf8))
            return client
        }
        #expect(waitUntil(timeout: 5) { started.load(ordering: .acquiring) })
        serving.cancel()
        let echoed = try await onThread { try client.receiveUntilEOF() }
        #expect(echoed == Array("slow\n".utf8))
        client.close()
        try await withTimeout(5 * Sanitizer.slowdown) { try await serving.value }
        #expect(server.hookTasks.count == 0)
    }

    /// An immediate stop cancels the tasks in flight; when `run()` returns none is left.
    @Test func anImmediateStopCancelsTasksAndNoneOutlivesRun() async throws {
        let alive = Atomic(0), cancelled = Atomic(0)
        let server = EchoServer(configuration: Configuration(port: 0, framing: .line), hook: .async { message in
            alive.add(1, ordering: .relaxed)
            defer { alive.subtract(1, ordering: .relaxed) }
            do {
                try await Task.sleep(for: .seconds(30))
            } catch {
                cancelled.add(1, ordering: .relaxed)
                try await Task.sleep(for: .milliseconds(50))  // still counted while it winds down
                throw error
            }
            return message.bytes
        }, logger: quietLogger)
        let serving = Task { try await server.run() }
        let port = try #require(try await withTimeout(5) { try await server.waitUntilListening() }.first?.port)
        let clients = try await onThread {
            try (0..<20).map { _ in
                let client = try TestClient(port: port)
                try client.send(Array("wait\n".utf8))
                return client
            }
        }
        #expect(waitUntil(timeout: 5) { alive.load(ordering: .relaxed) == 20 })
        server.stop(graceful: false)
        try await withTimeout(5 * Sanitizer.slowdown) { try await serving.value }
        #expect(cancelled.load(ordering: .relaxed) == 20)
        #expect(alive.load(ordering: .relaxed) == 0, "a task outlived run()")
        #expect(server.hookTasks.count == 0)
        _ = clients
    }
}

import Glibc
@testable import SwiftEcho
import Synchronization
import Testing

/// Deferred replies matched to their message, what a completion returns, and `--reply-timeout`.
@Suite struct DeferredReplyTests {
    private func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }

    private func finish(_ server: EchoServer) throws {
        server.stop(graceful: false)
        try Background { server.wait() }.value(timeout: 10 * Sanitizer.slowdown)
    }

    /// `replyLater()` twice for one message gives the same handle: the spare cannot answer the
    /// next message, which gets its own reply.
    @Test func replyLaterTwiceGivesOneHandle() throws {
        let handles = Locked<[(DeferredReply, DeferredReply)]>([])
        let server = try startServer(Hook { message, reply in
            guard message.text.hasPrefix("later") else { return reply.write(message) }
            let first = reply.replyLater(), second = reply.replyLater()
            reply.decline()  // ignored: the handle answers
            handles.withLock { $0.append((first, second)) }
        })
        let client = try TestClient(port: server.port)
        try client.send(line("later 1"))
        #expect(waitUntil(timeout: 2) { handles.withLock { $0.count } == 1 })
        let (first, second) = handles.withLock { $0[0] }
        #expect(first === second)
        #expect(first.send("answer 1"))
        #expect(!second.send("spare"), "one message, one answer")
        try client.send(line("later 2") + line("now"))
        #expect(waitUntil(timeout: 2) { handles.withLock { $0.count } == 2 })
        #expect(handles.withLock { $0[1].0 }.send("answer 2"))
        let expected = line("answer 1") + line("answer 2") + line("now")
        #expect(try client.receive(exactly: expected.count) == expected)
        #expect(server.stats.lateReplies == 0)
        try finish(server)
    }

    /// A completion is accepted while its connection waits, and refused (false, nothing sent)
    /// once the server has stopped.
    @Test func aCompletionAfterTheStopIsRefused() throws {
        let handles = Locked<[DeferredReply]>([])
        let server = try startServer(Hook { _, reply in
            let later = reply.replyLater()
            handles.withLock { $0.append(later) }
        })
        let client = try TestClient(port: server.port)
        try client.send(line("one") + line("two"))
        #expect(waitUntil(timeout: 2) { handles.withLock { $0.count } == 1 })
        #expect(handles.withLock { $0[0] }.send("first"))
        #expect(try client.receive(exactly: 6) == line("first"))
        #expect(waitUntil(timeout: 2) { handles.withLock { $0.count } == 2 })
        try finish(server)
        let late = handles.withLock { $0[1] }
        #expect(!late.send("after the stop"))
        #expect(!late.decline() && !late.closeConnection())
        #expect(server.stats.lateReplies == 0)
    }

    /// Once the server has seen its connection close, a completion is refused: false, nothing
    /// sent, nothing counted late.
    @Test func aCompletionAfterItsConnectionClosedIsRefused() throws {
        final class Deferring: ConnectionHandler {
            let kept: Locked<DeferredReply?>, closed: Locked<Bool>
            init(kept: Locked<DeferredReply?>, closed: Locked<Bool>) { (self.kept, self.closed) = (kept, closed) }
            func messageReceived(_ message: borrowing Message, reply: inout Reply) {
                let later = reply.replyLater()
                kept.withLock { $0 = later }
            }
            func connectionClosed(_ connection: Connection, reason: CloseReason) { closed.withLock { $0 = true } }
        }
        let kept = Locked<DeferredReply?>(nil)
        let closed = Locked(false)
        let server = try startServer(.handler { _ in Deferring(kept: kept, closed: closed) })
        let client = try TestClient(port: server.port)
        try client.send(line("hello"))
        #expect(waitUntil(timeout: 2) { kept.withLock { $0 } != nil })
        client.reset()
        #expect(waitUntil(timeout: 2) { closed.withLock { $0 } })
        #expect(kept.withLock { $0 }?.send("too late") == false)
        try finish(server)
        #expect(server.stats.lateReplies == 0)
    }

    /// A deferred reply never completed: at `--reply-timeout` the connection closes after the
    /// replies before it, logged and counted; the handle is refused from then on.
    @Test func aReplyThatNeverComesTimesOut() throws {
        let sink = CapturingSink()
        let kept = Locked<DeferredReply?>(nil)
        let server = try startServer(Hook { message, reply in
            guard message.text == "never" else { return reply.write(message) }
            let later = reply.replyLater()
            kept.withLock { $0 = later }
        }, sink: sink) { $0.replyTimeout = .milliseconds(300) }
        let client = try TestClient(port: server.port, timeout: 5)
        let start = monotonicSeconds()
        try client.send(line("before") + line("never") + line("after"))
        #expect(try client.receiveUntilEOF() == line("before"))
        let elapsed = monotonicSeconds() - start
        #expect(elapsed >= 0.29 && elapsed < 3 * Sanitizer.slowdown, "closed after \(elapsed) s")
        #expect(server.stats.replyTimeouts == 1)
        #expect(sink.lines.contains { $0.contains("warning") && $0.contains("not ready within reply-timeout") })
        #expect(kept.withLock { $0 }?.send("too late") == false)
        try finish(server)
    }

    /// An async hook past `--reply-timeout`: its task is cancelled at once, the handler hears
    /// `replyTimeout`, and nothing is counted late.
    @Test func anAsyncReplyPastTheTimeoutIsCancelled() throws {
        final class Slow: AsyncConnectionHandler {
            let events: Locked<[String]>
            init(events: Locked<[String]>) { self.events = events }
            func messageReceived(_ message: AsyncMessage) async throws -> AsyncReply {
                if message.text == "slow" {
                    do {
                        try await Task.sleep(for: .seconds(30))
                    } catch {
                        events.withLock { $0.append("cancelled") }
                        throw error
                    }
                }
                return .send(message.bytes)
            }
            func connectionClosed(_ connection: Connection, reason: CloseReason) {
                events.withLock { $0.append("closed \(reason)") }
            }
        }
        let events = Locked<[String]>([])
        let server = try startServer(.asyncHandler { _ in Slow(events: events) }) { $0.replyTimeout = .milliseconds(200) }
        let client = try TestClient(port: server.port, timeout: 5)
        try client.send(line("quick") + line("slow"))
        #expect(try client.receive(exactly: 6) == line("quick"))
        #expect(waitUntil(timeout: 3 * Sanitizer.slowdown) { events.withLock { $0.contains("cancelled") } },
                "cancelled at the timeout, before the connection has finished closing")
        #expect(try client.receiveUntilEOF().isEmpty)
        client.close()
        #expect(waitUntil(timeout: 3) { events.withLock { $0.contains("closed reply timeout") } }, "\(events.withLock { $0 })")
        #expect(server.stats.replyTimeouts == 1 && server.stats.lateReplies == 0 && server.stats.hookErrors == 0)
        try finish(server)
        #expect(server.hookTasks.count == 0)
    }
}

import Foundation
import Glibc
@testable import SwiftEcho
import Synchronization
import Testing

/// The Swift hook API, embedded in the test process: closures, per-connection handlers,
/// declining, closing, errors, limits, deferred replies.
@Suite struct HookAPITests {
    private func finish(_ server: EchoServer) throws {
        server.stop(graceful: false)
        try Background { server.wait() }.value(timeout: 10)
    }

    private func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }

    @Test func aClosureMapsEachMessage() throws {
        let server = try startServer(.map { message in "<\(message.text)>" })
        let client = try TestClient(port: server.port)
        try client.send(line("a") + line("") + line("héllo"))
        let expected = line("<a>") + line("<>") + line("<héllo>")
        #expect(try client.receive(exactly: expected.count) == expected)
        try finish(server)
    }

    /// State per connection without locks: each connection counts its own messages, and its
    /// handler always runs on the same (loop) thread.
    @Test func aHandlerKeepsStatePerConnection() throws {
        final class Counter: ConnectionHandler {
            let events: Locked<[String]>
            var count = 0
            var thread: pthread_t?
            init(events: Locked<[String]>) { self.events = events }
            func connectionOpened(_ connection: Connection) {
                events.withLock { $0.append("opened \(connection.id) \(connection.peerAddress.hasPrefix("127.0.0.1:"))") }
            }
            func messageReceived(_ message: borrowing Message, reply: inout Reply) {
                if thread == nil { thread = pthread_self() }
                precondition(pthread_equal(thread!, pthread_self()) != 0, "a handler must stay on its loop's thread")
                count += 1
                reply.write("\(count):")
                reply.write(message)
            }
            func connectionClosed(_ connection: Connection, reason: CloseReason) {
                events.withLock { $0.append("closed \(connection.id) \(reason)") }
            }
        }
        let events = Locked<[String]>([])
        let server = try startServer(.handler { _ in Counter(events: events) })
        let port = server.port
        let a = try TestClient(port: port), b = try TestClient(port: port)
        try a.send(line("x"))
        #expect(try a.receive(exactly: 4) == line("1:x"))
        try a.send(line("y"))
        #expect(try a.receive(exactly: 4) == line("2:y"))
        try b.send(line("z"))
        #expect(try b.receive(exactly: 4) == line("1:z"))
        a.close()
        b.close()
        #expect(waitUntil(timeout: 2) { events.withLock { $0.count } == 4 })
        let log = events.withLock { $0 }
        #expect(log.contains("opened 1 true") && log.contains("opened 2 true"))
        #expect(log.contains("closed 1 peer closed") && log.contains("closed 2 peer closed"))
        try finish(server)
    }

    @Test func declineSendsNothingAndAnEmptyReplyIsAnEmptyLine() throws {
        let server = try startServer(Hook { message, reply in
            if message.starts(with: "skip".utf8) { reply.decline() }
        })
        let client = try TestClient(port: server.port)
        try client.send(line("skip me") + line("answer") + line("skip") + line("again"))
        #expect(try client.receive(exactly: 2) == [10, 10], "two empty replies, nothing for the skipped")
        #expect(client.outcome(within: 0.2) == .nothingYet)
        try finish(server)
    }

    @Test func aHookCanCloseItsConnectionAfterItsReply() throws {
        let server = try startServer(Hook { message, reply in
            reply.write("bye")
            reply.closeConnection()
        })
        let client = try TestClient(port: server.port)
        try client.send(line("quit") + line("ignored"))
        #expect(try client.receiveUntilEOF() == line("bye"))
        try finish(server)
    }

    /// A throwing hook closes only its own connection, logged with the error and counted.
    @Test func aThrowingHookClosesOnlyItsConnection() throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "refused by test" } }
        let sink = CapturingSink()
        let server = try startServer(Hook { message, reply in
            if message.starts(with: "boom".utf8) { throw Refused() }
            reply.write(message)
        }, sink: sink)
        let port = server.port
        let victim = try TestClient(port: port), bystander = try TestClient(port: port)
        try victim.send(line("fine") + line("boom") + line("never"))
        #expect(try victim.receiveUntilEOF() == line("fine"))
        #expect(try bystander.roundTrip(line("still here")))
        #expect(server.stats.hookErrors == 1)
        #expect(sink.records.contains { $0.level == .warning && $0.metadata["error"] == "refused by test" })
        try finish(server)
    }

    /// Replies computed later, out of order, by tasks, still go out in message order. The
    /// test's own socket calls run on a thread, leaving the task pool to the replies.
    @Test func deferredRepliesKeepMessageOrder() async throws {
        let server = try startServer(Hook { message, reply in
            let later = reply.replyLater()
            let text = message.text
            let delay = (text.count % 3) * 20  // later messages may finish first
            // From another thread, later; not a Task: under a full test run the task pool's
            // two threads are often all busy with blocking tests for a minute.
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay)) {
                later.send("re: \(text)")
            }
        })
        let port = server.port
        let words = (0..<30).map { String(repeating: "w", count: $0 % 7) + "\($0)" }
        let expected = words.flatMap { line("re: \($0)") }
        let received = try await onThread {
            let client = try TestClient(port: port, timeout: 20)
            try client.send(words.flatMap { Array(($0 + "\n").utf8) })
            return try client.receive(exactly: expected.count)
        }
        #expect(mismatch(received, expected) == nil)
        try await onThread { try self.finish(server) }
    }

    /// A deferred reply completed after its connection closed is not accepted: nothing is
    /// sent, and the handle says so.
    @Test func aLateReplyForAClosedConnectionIsDropped() throws {
        let handles = Locked<[DeferredReply]>([])
        let server = try startServer(Hook { _, reply in
            let later = reply.replyLater()
            handles.withLock { $0.append(later) }
        })
        let client = try TestClient(port: server.port)
        try client.send(line("hello"))
        #expect(waitUntil(timeout: 2) { handles.withLock { $0.count } == 1 })
        client.reset()  // gone for good: a FIN alone would be a half-close, still owed its reply
        #expect(waitUntil(timeout: 2) { server.stats.closed == 1 })
        // The core counts the close before the hook hears of it: until then a completion may
        // still be taken, and is then dropped by the loop as late.
        let sent = Background { handles.withLock { $0[0] }.send("too late") }
        let accepted = try sent.value(timeout: 5)
        #expect(waitUntil(timeout: 2) { server.stats.lateReplies == (accepted ? 1 : 0) })
        #expect(handles.withLock { $0[0] }.send("again") == false, "only the first completion counts")
        try finish(server)
    }

    /// A handle dropped without an answer declines, so the connection is not held forever.
    @Test func aDroppedHandleDeclines() throws {
        let server = try startServer(Hook { message, reply in
            if message.starts(with: "later".utf8) { _ = reply.replyLater() } else { reply.write(message) }
        })
        let client = try TestClient(port: server.port)
        try client.send(line("later") + line("now"))
        #expect(try client.receive(exactly: 4) == line("now"))
        try finish(server)
    }

    /// A reply over --max-reply is refused before it is queued: the connection closes.
    @Test func aReplyOverMaxReplyClosesItsConnection() throws {
        let sawOverflow = Locked(false)
        let server = try startServer(Hook { message, reply in
            for _ in 0..<100 { reply.write(message) }  // 100 times its input
            if reply.isOverLimit { sawOverflow.withLock { $0 = true } }
        }, { $0.maxReply = 10_000 })
        let client = try TestClient(port: server.port)
        try client.send(line("small") + line(String(repeating: "x", count: 200)))
        let first = [UInt8](repeating: 0, count: 0) + Array(repeating: Array("small".utf8), count: 100).flatMap { $0 } + [10]
        #expect(mismatch(try client.receiveUntilEOF(), first) == nil)
        #expect(server.stats.repliesTooLarge == 1)
        #expect(sawOverflow.withLock { $0 }, "the hook can see its reply went over the limit")
        try finish(server)
    }

    /// Stopping the server from inside a hook is safe: it stops, gracefully, after the call.
    @Test func aHookMayStopTheServer() throws {
        let box = Locked<EchoServer?>(nil)
        let server = try startServer(Hook { message, reply in
            reply.write(message)
            box.withLock { $0 }?.stop()
        })
        box.withLock { $0 = server }
        let client = try TestClient(port: server.port)
        try client.send(line("stop"))
        #expect(try client.receiveUntilEOF() == line("stop"))
        try Background { server.wait() }.value(timeout: 10)
        box.withLock { $0 = nil }
    }

    /// A slow hook is logged and counted; it stalls its loop, which README says plainly.
    @Test func aSlowHookIsLoggedAndCounted() throws {
        let sink = CapturingSink()
        let server = try startServer(Hook { message, reply in
            usleep(60_000)
            reply.write(message)
        }, sink: sink, { $0.slowHook = .milliseconds(50) })
        let client = try TestClient(port: server.port)
        #expect(try client.roundTrip(line("slow")))
        #expect(server.stats.slowHooks == 1)
        #expect(sink.records.contains { $0.level == .warning && $0.message.hasPrefix("slow hook") })
        try finish(server)
    }

    @Test func lengthFramingWithAHandler() throws {
        let server = try startServer(.map { $0.text.uppercased() }, framing: .length)
        let client = try TestClient(port: server.port)
        try client.send(FramingTests.lengthFrame(Array("abc".utf8)) + FramingTests.lengthFrame([]))
        let expected = FramingTests.lengthFrame(Array("ABC".utf8)) + FramingTests.lengthFrame([])
        #expect(try client.receive(exactly: expected.count) == expected)
        try finish(server)
    }
}

import Glibc
@testable import SwiftEcho
import Testing

extension Adversarial {
    /// RELIABILITY.md, "Hooks": hooks that throw, stall, amplify, close, stop, or answer too
    /// late, against an EchoServer in the test process. Sanitizer runs make "no leak, no
    /// use-after-free, no race" part of each test.
    @Suite struct HookAbuseTests {
        private func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }

        /// A hook that throws on every third message it sees: that message's connection closes
        /// (after the replies before it), the error is logged and counted, every other
        /// connection stays open and served.
        @Test func aHookThatThrowsOnEveryThirdMessage() throws {
            struct Third: Error {}
            let seen = Locked(0)
            let sink = CapturingSink()
            let server = try startServer(Hook { message, reply in
                let n = seen.withLock { $0 += 1; return $0 }
                if n % 3 == 0 { throw Third() }
                reply.write(message)
            }, sink: sink)
            var open: [TestClient] = []
            for index in 1...30 {
                let client = try TestClient(port: server.port)
                try client.send(line("message \(index)"))
                if index % 3 == 0 {
                    #expect(try client.receiveUntilEOF().isEmpty, "message \(index) must close its connection")
                } else {
                    #expect(try client.receive(exactly: line("message \(index)").count) == line("message \(index)"))
                    open.append(client)
                }
            }
            #expect(server.stats.hookErrors == 10)
            #expect(sink.records.filter { $0.level == .warning && $0.message.hasPrefix("hook failed") }.count == 10)
            // Those ten linger until their (dropped) clients' FIN: wait for the closes to land.
            #expect(waitUntil(timeout: 5) { server.stats.active == 20 }, "only the connections whose hook threw are closed")
            // The survivors still talk: messages 31, 32 answered, 33 closes its connection.
            #expect(try open[0].roundTrip(line("again")))
            #expect(try open[1].roundTrip(line("again")))
            try open[2].send(line("again"))
            #expect(try open[2].receiveUntilEOF().isEmpty)
            open.forEach { $0.close() }
            #expect(waitUntil(timeout: 5) { server.stats.active == 0 })
            try server.stopAndWait()
        }

        /// Pipelined: ten connections each send nine messages at once and their handler throws
        /// on its third. Each gets exactly the first two replies, then EOF.
        @Test func aThrowingHandlerStillSendsTheRepliesBeforeIt() throws {
            final class ThrowsOnThird: ConnectionHandler {
                struct Third: Error {}
                var count = 0
                func messageReceived(_ message: borrowing Message, reply: inout Reply) throws {
                    count += 1
                    if count == 3 { throw Third() }
                    reply.write(message)
                }
            }
            let server = try startServer(.handler { _ in ThrowsOnThird() })
            let clients = try (0..<10).map { _ in try TestClient(port: server.port) }
            for (c, client) in clients.enumerated() {
                try client.send((1...9).flatMap { line("c\(c) m\($0)") })
            }
            for (c, client) in clients.enumerated() {
                #expect(try client.receiveUntilEOF() == line("c\(c) m1") + line("c\(c) m2"), "client \(c)")
            }
            #expect(server.stats.hookErrors == 10)
            try server.stopAndWait()
        }

        /// A hook slower than --slow-hook on every fourth message: each slow call is logged and
        /// counted, and every connection still gets its replies in message order.
        @Test func aSlowHookKeepsEachConnectionsOrder() throws {
            final class SometimesSlow: ConnectionHandler {
                var count = 0
                func messageReceived(_ message: borrowing Message, reply: inout Reply) {
                    count += 1
                    if count % 4 == 0 { usleep(80_000) }
                    reply.write("\(count):")
                    reply.write(message)
                }
            }
            let sink = CapturingSink()
            let server = try startServer(.handler { _ in SometimesSlow() }, sink: sink) { $0.slowHook = .milliseconds(50) }
            let clients = try (0..<4).map { _ in try TestClient(port: server.port, timeout: 10 * Sanitizer.slowdown) }
            let expected = (0..<4).map { c in (1...12).flatMap { line("\($0):c\(c) m\($0)") } }
            for (c, client) in clients.enumerated() { try client.send((1...12).flatMap { line("c\(c) m\($0)") }) }
            for (c, client) in clients.enumerated() {
                #expect(mismatch(try client.receive(exactly: expected[c].count), expected[c]) == nil, "client \(c)")
            }
            let slow = server.stats.slowHooks
            #expect(slow >= 12 && slow <= 48, "slow hook calls counted: \(slow)")
            #expect(sink.records.filter { $0.level == .warning && $0.message.hasPrefix("slow hook") }.count == Int(slow))
            try server.stopAndWait()
        }

        /// A reply of 100 MiB in one write, and one of 100 MiB in 64 KiB writes: --max-reply
        /// refuses each before it is queued (the reply never holds more than the limit), the
        /// connection closes after the replies before it, and a bystander is served.
        @Test func aHundredMiBReplyIsRefusedBeforeQueueing() throws {
            let maxReply = 1 << 20
            let huge = UnsafeMutableRawBufferPointer(start: calloc(100 << 20, 1), count: 100 << 20)
            defer { free(huge.baseAddress) }
            let hugeAddress = Int(bitPattern: huge.baseAddress)  // an address is Sendable, a pointer is not
            let largestHeld = Locked(0)
            let overLimit = Locked(0)
            let chunk = [UInt8](repeating: 0x41, count: 64 << 10)
            let server = try startServer(Hook { message, reply in
                switch message.text {
                case "big":
                    reply.write(UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: hugeAddress), count: 100 << 20))
                case "drip":
                    for _ in 0..<1600 {
                        reply.write(chunk)
                        let held = reply.count
                        largestHeld.withLock { $0 = max($0, held) }
                    }
                default:
                    reply.write(message)
                    return
                }
                let held = reply.count
                largestHeld.withLock { $0 = max($0, held) }
                if reply.isOverLimit { overLimit.withLock { $0 += 1 } }
            }) { $0.maxReply = maxReply }
            let bystander = try TestClient(port: server.port)
            let big = try TestClient(port: server.port), drip = try TestClient(port: server.port)
            try big.send(line("before") + line("big") + line("after"))
            try drip.send(line("drip"))
            #expect(try big.receiveUntilEOF() == line("before"))
            #expect(try drip.receiveUntilEOF().isEmpty)
            #expect(try bystander.roundTrip(line("still served")))
            #expect(server.stats.repliesTooLarge == 2)
            #expect(overLimit.withLock { $0 } == 2)
            #expect(largestHeld.withLock { $0 } <= maxReply, "a refused reply held \(largestHeld.withLock { $0 }) bytes")
            let sentBytes = UInt64(line("before").count + line("still served").count)
            #expect(waitUntil(timeout: 2) { server.stats.bytesOut == sentBytes }, "sent \(server.stats.bytesOut) bytes")
            bystander.close()
            try server.stopAndWait()
        }

        /// A hook that returns 100 times its input, to ten clients that do not read: each
        /// connection holds at most the output limit plus one reply (the counters say how much is
        /// held), then, once they read, every amplified reply arrives exact and in order.
        @Test func anAmplifyingHookIsHeldByBackpressure() throws {
            let limit = 64 << 10, messageCount = 200
            let server = try startServer(Hook { message, reply in
                for _ in 0..<100 { reply.write(message) }
            }) { $0.outputLimit = limit }
            let clients = try (0..<10).map { _ in try TestClient(port: server.port, timeout: 20 * Sanitizer.slowdown) }
            let messages = (0..<10).map { c in
                (0..<messageCount).map { i in
                    let head = "c\(c) m\(i) "
                    return head + String(repeating: "x", count: 100 - head.count)  // 100 bytes each
                }
            }
            let senders = zip(clients, messages).map { client, lines in
                Background { try client.send(lines.flatMap { Array(($0 + "\n").utf8) }) }
            }
            #expect(waitUntil(timeout: 10 * Sanitizer.slowdown) { server.stats.backpressurePauses >= 10 })
            let stats = server.stats
            let replySize = 100 * 100  // every message here is 100 bytes, its reply 100 copies + "\n"
            let produced = Int(stats.messages) * (replySize + 1)
            let held = produced - Int(stats.bytesOut)
            #expect(held <= 10 * (limit + replySize + 1), "the server holds \(held) bytes for 10 stalled clients")
            let readers = zip(clients, messages).map { client, lines in
                Background { () -> String? in
                    let expected: [UInt8] = lines.flatMap { text -> [UInt8] in
                        Array(repeating: Array(text.utf8), count: 100).flatMap { $0 } + [10]
                    }
                    return mismatch(try client.receive(exactly: expected.count), expected)
                }
            }
            for (c, reader) in readers.enumerated() { #expect(try reader.value(timeout: 30 * Sanitizer.slowdown) == nil, "client \(c)") }
            for sender in senders { try sender.value(timeout: 10) }
            try server.stopAndWait()
        }

        /// A hook closes its own connection at its 50th message while the client keeps
        /// sending: exactly 50 replies, then EOF. Then nine clients stream lines and a hook stops
        /// the server (gracefully) from inside a call at the 3 000th message: no crash, no
        /// use-after-free, each client gets an exact prefix of its echo, then EOF, and the server
        /// ends within its deadline.
        @Test func hooksThatCloseAndStopInTheMiddleOfTraffic() throws {
            final class Box: Sendable { let server = Locked<EchoServer?>(nil) }
            let box = Box(), total = Locked(0)
            final class Handler: ConnectionHandler {
                let box: Box, total: Locked<Int>
                var count = 0
                init(box: Box, total: Locked<Int>) { self.box = box; self.total = total }
                func messageReceived(_ message: borrowing Message, reply: inout Reply) {
                    count += 1
                    reply.write(message)
                    if message.text.hasPrefix("closer "), count == 50 { reply.closeConnection() }
                    if total.withLock({ $0 += 1; return $0 }) == 3000 { box.server.withLock { $0 }?.stop() }
                }
            }
            let server = try startServer(.handler { _ in Handler(box: box, total: total) }) { $0.shutdownTimeout = .seconds(5) }
            box.server.withLock { $0 = server }
            let stream = { (name: String) in (0..<2000).flatMap { Array("\(name) line \($0)\n".utf8) } }

            let closer = try TestClient(port: server.port, timeout: 10 * Sanitizer.slowdown)
            let closerStream = stream("closer")
            let closerSender = Background { _ = try? closer.send(closerStream) }  // may meet the close
            let closed = try closer.receiveUntilEOF()
            #expect(mismatch(closed, Array(closerStream.prefix(closed.count))) == nil)
            #expect(closed.filter { $0 == 10 }.count == 50)
            try closerSender.value(timeout: 10)
            closer.close()

            let clients = try (0..<9).map { _ in try TestClient(port: server.port, timeout: 20 * Sanitizer.slowdown) }
            let streams = (0..<9).map { stream("c\($0)") }
            let senders = zip(clients, streams).map { client, stream in
                Background { _ = try? client.send(stream) }  // the server may stop before all is sent
            }
            let readers = clients.map { client in Background { try client.receiveUntilEOF() } }
            var echoedMessages = 0
            for (c, reader) in readers.enumerated() {
                let echoed = try reader.value(timeout: 30 * Sanitizer.slowdown)
                #expect(mismatch(echoed, Array(streams[c].prefix(echoed.count))) == nil, "client \(c)")
                echoedMessages += echoed.filter { $0 == 10 }.count
            }
            for sender in senders { try sender.value(timeout: 10) }
            clients.forEach { $0.close() }
            try Background { server.wait() }.value(timeout: 15 * Sanitizer.slowdown)
            #expect(echoedMessages + 50 >= 3000, "every message read before the stop is answered")
            #expect(server.stats.active == 0)
            box.server.withLock { $0 = nil }
        }

        /// A hook that stops the server at once (not gracefully) from inside a call while five
        /// clients stream: the stop takes effect after the call, every connection is closed,
        /// each client got an exact prefix of its echo, and the server ends; no use-after-free.
        @Test func aHookThatStopsTheServerAtOnce() throws {
            final class Box: Sendable { let server = Locked<EchoServer?>(nil) }
            let box = Box(), seen = Locked(0)
            let server = try startServer(Hook { message, reply in
                reply.write(message)
                if seen.withLock({ $0 += 1; return $0 }) == 500 { box.server.withLock { $0 }?.stop(graceful: false) }
            })
            box.server.withLock { $0 = server }
            let clients = try (0..<5).map { _ in try TestClient(port: server.port, timeout: 20 * Sanitizer.slowdown) }
            let streams = (0..<5).map { c in (0..<1000).flatMap { Array("c\(c) line \($0)\n".utf8) } }
            let senders = zip(clients, streams).map { client, stream in
                Background { _ = try? client.send(stream) }  // the server may be gone before all is sent
            }
            let readers = clients.map { client in Background { try client.receiveUntilClosed() } }
            for (c, reader) in readers.enumerated() {
                let echoed = try reader.value(timeout: 30 * Sanitizer.slowdown)
                #expect(mismatch(echoed, Array(streams[c].prefix(echoed.count))) == nil, "client \(c)")
            }
            try Background { server.wait() }.value(timeout: 10 * Sanitizer.slowdown)
            for sender in senders { try sender.value(timeout: 10) }
            #expect(seen.withLock { $0 } >= 500)
            #expect(server.stats.active == 0)
            clients.forEach { $0.close() }
            box.server.withLock { $0 = nil }
        }

        /// Forty deferred replies; twenty of their connections reset first. The forty handles are
        /// completed from four threads at once: the twenty late ones are refused (or, racing the
        /// close, dropped by the loop and counted), the twenty others arrive. Handles completed
        /// or dropped after the server has stopped are refused, harmlessly.
        @Test func deferredRepliesRacingClosedConnectionsAndAStoppedServer() throws {
            let handles = Locked<[String: DeferredReply]>([:])
            let server = try startServer(Hook { message, reply in
                let key = message.text
                let later = reply.replyLater()
                handles.withLock { $0[key] = later }
            })
            let clients = try (0..<40).map { _ in try TestClient(port: server.port, timeout: 10 * Sanitizer.slowdown) }
            for (c, client) in clients.enumerated() { try client.send(line("k\(c)")) }
            #expect(waitUntil(timeout: 5 * Sanitizer.slowdown) { handles.withLock { $0.count } == 40 })
            for client in clients[20...] { client.reset() }
            #expect(waitUntil(timeout: 5 * Sanitizer.slowdown) { server.stats.closed == 20 })
            let all = handles.withLock { $0 }
            let refused = Locked(0)
            runConcurrently(threads: 4) { thread in
                for c in stride(from: thread, to: 40, by: 4) where !all["k\(c)"]!.send("re k\(c)") {
                    refused.withLock { $0 += 1 }
                }
            }
            for (c, client) in clients[..<20].enumerated() {
                #expect(try client.receive(exactly: line("re k\(c)").count) == line("re k\(c)"))
            }
            #expect(waitUntil(timeout: 5) { Int(server.stats.lateReplies) + refused.withLock { $0 } == 20 })

            // Five more waiting when the server stops at once; completed and dropped afterwards.
            handles.withLock { $0 = [:] }
            for (c, client) in clients[..<5].enumerated() { try client.send(line("after \(c)")) }
            #expect(waitUntil(timeout: 5 * Sanitizer.slowdown) { handles.withLock { $0.count } == 5 })
            try server.stopAndWait()
            let leftover = handles.withLock { $0 }
            handles.withLock { $0 = [:] }
            for (_, handle) in leftover { #expect(!handle.send("nobody is listening")) }
            clients.forEach { $0.close() }
        }
    }
}

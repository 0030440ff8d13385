import Glibc
import Testing

extension Adversarial {
    /// RELIABILITY.md, "Slow, broken and hostile peers": clients that never read, many at once.
    @Suite struct SlowPeerTests {
        /// 100 clients send and never read: each stalls on its own socket, the server holds at
        /// most 100 × (output limit + one read), never spins, and the write timeout closes every
        /// one of them; a sentinel client is served throughout.
        @Test func aHundredNeverReadingClientsAtOnce() throws {
            let limit = 64 << 10, bound = limit + (64 << 10)  // the output limit plus one read
            let daemon = try Daemon.serving(["--output-limit", "\(limit)", "--write-timeout", "3"])
            _ = try exchange(Payload.random(count: 1 << 20, seed: 1), port: daemon.port)  // warm up
            let rssBefore = daemon.probe.residentBytes
            let sentinel = try Sentinel(port: daemon.port)

            let crowd = try Crowd(count: 100, port: daemon.port, receiveBuffer: 4096)
            try crowd.waitConnected(timeout: 5 * Sanitizer.slowdown)
            let sent = crowd.sendUntilStalled(quiet: 0.5, limitPerConnection: 64 << 20)
            #expect(sent.allSatisfy { $0 < 64 << 20 }, "a client was never stalled: \(sent.max()!) bytes")
            let stats = try daemon.stats()
            let held = Int(stats["bytes.in"]!) - Int(stats["bytes.out"]!)
            #expect(held <= 100 * bound, "the server holds \(held) bytes for 100 stalled clients")
            #expect(stats["backpressure.pauses"]! >= 100, "\(stats)")
            if Sanitizer.measuresMemory {
                let growth = daemon.probe.residentBytes - rssBefore
                #expect(growth <= 100 * bound + (8 << 20), "RSS grew \(growth) bytes")
            }
            let cpuBefore = daemon.probe.cpuSeconds
            usleep(500_000)
            #expect(daemon.probe.cpuSeconds - cpuBefore < 0.2 * Sanitizer.slowdown, "paused connections keep the loop busy")

            // Nothing drains: the write timeout ends all hundred, and only them.
            #expect(waitUntil(timeout: 10 * Sanitizer.slowdown) { (try? daemon.stats()["timeouts.write"]) == 100 })
            #expect(crowd.closedByServer(within: 2) == 100)
            sentinel.expectUnaffected()
            crowd.close()
            daemon.expectDescriptorsAtBaseline()
        }

        /// Five clients fill every buffer on the way and stall; they start reading before the
        /// write timeout and each gets every byte it sent, in order; nothing times out. (8 MiB
        /// each through a small receive buffer: more than the kernel buffers on the way hold.)
        @Test func stalledClientsThatStartReadingGetEverything() throws {
            let daemon = try Daemon.serving(["--output-limit", "65536", "--write-timeout", "10"])
            let clients = try (0..<5).map { _ in
                try TestClient(port: daemon.port, timeout: 30 * Sanitizer.slowdown, receiveBuffer: 4096)
            }
            let payloads = (0..<5).map { Payload.random(count: 8 << 20, seed: UInt64(100 + $0)) }
            let senders = zip(clients, payloads).map { client, payload in
                Background {
                    try client.send(payload)
                    client.shutdownWrite()
                }
            }
            // Nobody reads until the server has paused every one of them.
            #expect(waitUntil(timeout: 10 * Sanitizer.slowdown) { (try? daemon.stats()["backpressure.pauses"]) ?? 0 >= 5 })
            let readers = clients.map { client in Background { try client.receiveUntilEOF() } }
            for (index, reader) in readers.enumerated() {
                #expect(mismatch(try reader.value(timeout: 30 * Sanitizer.slowdown), payloads[index]) == nil, "client \(index)")
            }
            for sender in senders { try sender.value(timeout: 10) }
            #expect(try daemon.stats()["timeouts.write"] == 0)
            clients.forEach { $0.close() }
            daemon.expectDescriptorsAtBaseline()
        }
    }
}

import Glibc
import Testing

extension Adversarial {
    /// RELIABILITY.md, "Data": awkward byte streams come back exact, without a write storm.
    @Suite struct DataAbuseTests {
        /// Payloads of every byte value and runs of NUL, 1 B to 64 KiB, from several clients at
        /// once on one connection each: every stream exact.
        @Test(arguments: EchoTests.backends)
        func mixedBinaryPayloadsFromSeveralClients(backend: String) throws {
            let daemon = try Daemon.serving(["--backend", backend])
            let sizes = [1, 2, 255, 256, 1000, 4095, 4096, 4097, 30_000, 65_535, 65_536]
            let everyValue = (0..<1024).map { UInt8(truncatingIfNeeded: $0) }
            let nulRun = [UInt8](repeating: 0, count: 20_000) + [1] + [UInt8](repeating: 0, count: 3)
            let clients = 8
            let results = (0..<clients).map { index in
                Background { () -> String? in
                    let stream = sizes.enumerated().flatMap { Payload.random(count: $0.element, seed: UInt64(index * 100 + $0.offset)) }
                        + everyValue + nulRun
                    let echoed = try exchange(stream, port: daemon.port)
                    return mismatch(echoed, stream)
                }
            }
            for (index, result) in results.enumerated() {
                #expect(try result.value(timeout: 30 * Sanitizer.slowdown) == nil, "client \(index)")
            }
            daemon.expectDescriptorsAtBaseline()
        }

        /// 20 000 one-byte sends: the exact stream comes back, and the server does work per byte
        /// received, not more: no write storm, no busy loop.
        @Test func twentyThousandOneByteSends() throws {
            let daemon = try Daemon.serving([])
            let count = 20_000
            let stream = (0..<count).map { UInt8(truncatingIfNeeded: $0 % 251) }
            let client = try TestClient(port: daemon.port, timeout: 20 * Sanitizer.slowdown)
            let reader = Background { try client.receive(exactly: count) }
            let cpuBefore = daemon.probe.cpuSeconds
            for byte in stream { try client.send([byte]) }
            let echoed = try reader.value(timeout: 30 * Sanitizer.slowdown)
            let cpu = daemon.probe.cpuSeconds - cpuBefore
            #expect(mismatch(echoed, stream) == nil)
            // The loop counts a send once it returns, which may be after the client has read
            // the bytes: wait (bounded) for the count to catch up.
            var stats: [String: UInt64] = [:]
            let counted = waitUntil(timeout: 5) {
                stats = (try? daemon.stats()) ?? [:]
                return stats["bytes.out"] == UInt64(count)
            }
            #expect(counted && stats["bytes.in"] == UInt64(count), "\(stats)")
            // A read and a send per byte cost a few microseconds; 100 µs a byte is a storm.
            #expect(cpu < 2.0 * Sanitizer.slowdown, "server CPU \(cpu) s for \(count) one-byte messages")
            client.close()
            daemon.expectDescriptorsAtBaseline()
        }
    }
}

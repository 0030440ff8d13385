import Glibc
import Testing

/// Byte-exact echo through the daemon on every backend this platform has, from one byte to
/// 16 MiB, one client and 200 at once; no descriptor left behind.
@Suite struct EchoTests {
    /// Every backend of this platform that can run here: io_uring where the kernel allows it
    /// (CI's does; elsewhere the per-backend tests run without it).
    static let backends = ["select"] + unbounded
    /// The backends with no descriptor bound (select's FD_SETSIZE), for the tests at scale.
    static let unbounded = ["poll", "epoll"] + (IOUring.refusal.isEmpty ? ["io_uring"] : [])

    @Test(arguments: backends, [1, 1000, 65536, 1 << 20])
    func echoesRandomBinaryPayloads(backend: String, size: Int) throws {
        let daemon = try Daemon.serving(["--backend", backend])
        let payload = Payload.random(count: size, seed: UInt64(size))
        let echoed = try exchange(payload, port: daemon.port)
        #expect(mismatch(echoed, payload) == nil)
        daemon.expectDescriptorsAtBaseline()
    }

    @Test(arguments: backends)
    func streamsSixteenMiBThrough(backend: String) throws {
        let daemon = try Daemon.serving(["--backend", backend])
        let payload = Payload.random(count: 16 << 20, seed: 16)
        let echoed = try exchange(payload, port: daemon.port)
        #expect(mismatch(echoed, payload) == nil)
        daemon.expectDescriptorsAtBaseline()
        // Backpressure keeps the server from holding the whole message at once.
        #expect(daemon.probe.peakResidentBytes < 48 << 20)
    }

    @Test(arguments: backends)
    func servesTwoHundredClientsAtOnce(backend: String) throws {
        let daemon = try Daemon.serving(["--backend", backend])
        let clients = try (0..<200).map { _ in try TestClient(port: daemon.port) }
        let payloads = (0..<200).map { Payload.random(count: 4096, seed: UInt64($0)) }
        for (client, payload) in zip(clients, payloads) { try client.send(payload) }
        for (client, payload) in zip(clients, payloads) {
            #expect(mismatch(try client.receive(exactly: payload.count), payload) == nil)
        }
        let stats = try daemon.stats()
        #expect(stats["active"] == 200)
        clients.forEach { $0.close() }
        daemon.expectDescriptorsAtBaseline()
    }
}

/// Sends `payload` on a fresh connection while reading the echo on another thread, shuts
/// down writing, and returns everything read up to the server's close.
func exchange(_ payload: [UInt8], port: Int, host: String = "127.0.0.1") throws -> [UInt8] {
    let client = try TestClient(host: host, port: port, timeout: 20)
    let reader = Background { try client.receiveUntilEOF() }
    try client.send(payload)
    client.shutdownWrite()
    return try reader.value(timeout: 30)
}

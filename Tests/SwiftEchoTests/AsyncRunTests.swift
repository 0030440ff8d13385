import Glibc
import Synchronization
import Testing
@testable import SwiftEcho

/// `run() async`: serving until stopped or cancelled, and awaiting readiness.
@Suite struct AsyncRunTests {
    private func makeServer(_ change: (inout Configuration) -> Void = { _ in }) -> EchoServer {
        var configuration = Configuration()
        configuration.port = 0
        change(&configuration)
        return EchoServer(configuration: configuration, logger: quietLogger)
    }

    /// Cancelling the task that runs the server is a graceful stop: new connections are
    /// refused, the bytes in flight are all echoed, and `run()` returns once they are.
    @Test func cancellingRunDrainsAndReturns() async throws {
        let server = makeServer { $0.shutdownTimeout = .seconds(10) }
        let returned = Atomic(false)
        let serving = Task {
            try await server.run()
            returned.store(true, ordering: .releasing)
        }
        let port = try await withTimeout(5) { try await server.waitUntilListening() }.first?.port ?? 0
        let payload = Payload.random(count: 200 << 10, seed: 16)
        let client = try await onThread {
            let client = try TestClient(port: port, timeout: 10)
            try client.send(payload)  // and do not read yet: in flight when the stop begins
            return client
        }
        #expect(waitUntil(timeout: 5) { server.stats.bytesIn == UInt64(payload.count) })

        serving.cancel()
        let refused = try await onThread { waitUntil(timeout: 2) { (try? TestClient(port: port, timeout: 1)) == nil } }
        #expect(refused, "new connections are refused once the stop begins")
        let stillRunning = !returned.load(ordering: .acquiring)
        #expect(stillRunning, "run() waits for the drain")
        let echoed = try await onThread { try client.receiveUntilEOF() }
        #expect(mismatch(echoed, payload) == nil)
        client.close()
        try await withTimeout(5, "run() after the drain") { try await serving.value }
        #expect(server.stats.bytesOut == UInt64(payload.count))
        #expect(server.stats.shutdownForced == 0)
    }

    /// A task that awaits readiness before the server runs gets the addresses it listens on,
    /// and they take connections; once listening, the answer comes at once.
    @Test func waitingForReadinessGivesTheAddresses() async throws {
        let server = makeServer()
        let waiting = Task { try await server.waitUntilListening() }
        try await Task.sleep(for: .milliseconds(20))
        let serving = Task { try await server.run() }
        let addresses = try await withTimeout(5) { try await waiting.value }
        #expect(addresses == server.localAddresses && addresses.count == 1)
        let port = try #require(addresses.first?.port)
        #expect(try await onThread { try TestClient(port: port).roundTrip([1, 2, 3]) })
        #expect(try await withTimeout(1) { try await server.waitUntilListening() } == addresses)
        serving.cancel()
        try await withTimeout(5) { try await serving.value }
    }

    /// A start that fails is thrown by `run()` and by every task waiting for readiness.
    @Test func aFailedStartReachesRunAndTheWaiters() async throws {
        let held = try HeldPort()
        let server = makeServer { $0.port = held.port }
        let waiting = Task { try await server.waitUntilListening() }
        try await Task.sleep(for: .milliseconds(20))
        let expected = EchoServerError.cannotListen(address: "127.0.0.1:\(held.port)",
                                                    reason: "bind(127.0.0.1:\(held.port)): Address already in use")
        await #expect(throws: expected) { try await server.run() }
        await #expect(throws: expected) { try await withTimeout(5) { try await waiting.value } }
    }

    /// A waiter for a server that never runs ends when its task is cancelled.
    @Test func aCancelledWaiterStopsWaiting() async throws {
        let server = makeServer()
        let waiting = Task { try await server.waitUntilListening() }
        try await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await withTimeout(5) { try await waiting.value } }
    }
}

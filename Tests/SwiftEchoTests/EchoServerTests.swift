import Glibc
import SwiftEcho
import Testing

/// The library's server, embedded in the test process.
@Suite struct EchoServerTests {
    private func serverConfiguration(_ change: (inout Configuration) -> Void = { _ in }) -> Configuration {
        var configuration = Configuration()
        configuration.port = 0
        change(&configuration)
        return configuration
    }

    @Test func startsOnAFreePortEchoesAndStops() throws {
        let server = EchoServer(configuration: serverConfiguration(), logger: quietLogger)
        try server.start()
        let address = try #require(server.localAddresses.first)
        #expect(address.host == "127.0.0.1" && (address.port ?? 0) > 0)
        #expect(server.backend == "epoll")

        let client = try TestClient(port: server.port)
        #expect(try client.roundTrip(Payload.random(count: 10_000, seed: 11)))
        client.close()
        #expect(waitUntil(timeout: 2) { server.stats.closed == 1 })
        let stats = server.stats
        #expect(stats.accepted == 1 && stats.active == 0)
        #expect(stats.bytesIn == 10_000 && stats.bytesOut == 10_000)

        server.stop()
        try waitForStop(server)
        #expect(server.stats.accepted == 1, "counters survive the stop")
        #expect((try? TestClient(port: server.port, timeout: 1)) == nil, "the listener is closed")
    }

    @Test func runServesOnTheCallingThreadUntilStopped() throws {
        let server = EchoServer(configuration: serverConfiguration(), logger: quietLogger)
        let runner = Background { try server.run() }
        #expect(waitUntil(timeout: 5) { !server.localAddresses.isEmpty })
        let client = try TestClient(port: server.port)
        #expect(try client.roundTrip([1, 2, 3]))
        server.stop(graceful: false)
        try runner.value(timeout: 5)
    }

    @Test func aStopBeforeStartStillStopsOnceStarted() throws {
        let server = EchoServer(configuration: serverConfiguration(), logger: quietLogger)
        server.stop()
        let runner = Background { try server.run() }
        try runner.value(timeout: 5)
        #expect(server.stats.accepted == 0)
    }

    @Test func startingTwiceIsRefused() throws {
        let server = EchoServer(configuration: serverConfiguration(), logger: quietLogger)
        try server.start()
        #expect(throws: EchoServerError.alreadyStarted) { try server.start() }
        server.stop(graceful: false)
        try waitForStop(server)
    }

    @Test func aMissingBackendIsRefused() {
        let server = EchoServer(configuration: serverConfiguration { $0.backend = .kqueue }, logger: quietLogger)
        #expect(throws: EchoServerError.backendUnavailable("kqueue")) { try server.start() }
    }

    @Test func aBusyPortNamesTheAddressAndReason() throws {
        let first = EchoServer(configuration: serverConfiguration(), logger: quietLogger)
        try first.start()
        defer { first.stop(graceful: false); first.wait() }
        let port = first.port
        let second = EchoServer(configuration: serverConfiguration { $0.port = port }, logger: quietLogger)
        #expect(throws: EchoServerError.cannotListen(address: "127.0.0.1:\(port)",
                                                     reason: "bind(127.0.0.1:\(port)): Address already in use")) {
            try second.start()
        }
    }

    @Test func coreEventsReachTheLogger() throws {
        let sink = CapturingSink()
        let logger = Logger(label: "test", logLevel: .debug, sink: sink)
        let server = EchoServer(configuration: serverConfiguration(), logger: logger)
        try server.start()
        let client = try TestClient(port: server.port)
        #expect(try client.roundTrip([1]))
        client.close()
        #expect(waitUntil(timeout: 2) { sink.records.contains { $0.message == "closing connection" } })
        let closing = sink.records.first { $0.message == "closing connection" }!
        #expect(closing.level == .debug)
        #expect(closing.metadata["conn.id"] == "1")
        #expect(closing.metadata["reason"] == "peer closed")
        #expect(closing.metadata["peer.address"]?.hasPrefix("127.0.0.1:") == true)
        #expect(sink.records.contains { $0.level == .info && $0.message.hasPrefix("listening on 127.0.0.1:") })
        server.stop()
        try waitForStop(server)
    }

    @Test func disabledLevelsNeverReachTheSink() throws {
        let sink = CapturingSink()
        let server = EchoServer(configuration: serverConfiguration(), logger: Logger(label: "test", logLevel: .warning, sink: sink))
        try server.start()
        let client = try TestClient(port: server.port)
        #expect(try client.roundTrip([1]))
        client.close()
        server.stop()
        try waitForStop(server)
        #expect(sink.records.allSatisfy { $0.level >= .warning }, "\(sink.records.map(\.message))")
    }

    private func waitForStop(_ server: EchoServer) throws {
        let waiter = Background { server.wait() }
        try waiter.value(timeout: 10)
    }
}

/// A logger that drops everything, for tests that do not look at logs.
let quietLogger = Logger(label: "test", logLevel: .critical, sink: CapturingSink())

/// A configuration built in code gets the same checks as a parsed one: no trap on a port
/// that does not fit in 16 bits.
@Test func anOutOfRangeSettingIsRefusedNotTrapped() {
    var configuration = Configuration()
    configuration.port = 70000
    let server = EchoServer(configuration: configuration, logger: quietLogger)
    #expect(throws: EchoServerError.invalidConfiguration(
        "The value '70000' is invalid for '--port': expected an integer from 0 to 65535.")) {
        try server.start()
    }
}

import Testing
@testable import SwiftEcho

/// The README's embedding examples, as written but for the logger's sink, so that they keep
/// compiling and working.
@Suite struct ReadmeEmbeddingExampleTests {
    @Test func runAwaitAndCancel() async throws {
        var configuration = Configuration()
        configuration.port = 0                       // any free port
        configuration.idleTimeout = .seconds(30)
        let server = EchoServer(configuration: configuration,
                                logger: Logger(label: "my-app", logLevel: .notice, sink: CapturingSink()))
        let serving = Task { try await server.run() }  // the loops run on threads of their own
        print("echo on", try await server.waitUntilListening())  // [127.0.0.1:41234]
        print(server.stats.accepted)                 // counters, from any thread
        serving.cancel()                             // graceful, within configuration.shutdownTimeout
        try await serving.value                      // back once every connection has finished
        #expect((server.localAddresses.first?.port ?? 0) > 0)
    }

    /// The swift-service-lifecycle adapter, against stand-ins for its `Service` and graceful
    /// shutdown handler (we cannot depend on the package).
    @Test func serviceLifecycleAdapter() async throws {
        let server = EchoServer(configuration: Configuration(port: 0), logger: quietLogger)
        let shutdown = GracefulShutdown()
        let running = Task { try await GracefulShutdown.$current.withValue(shutdown) { try await EchoService(server: server).run() } }
        _ = try await withTimeout(5) { try await server.waitUntilListening() }
        shutdown.trigger()
        try await withTimeout(5) { try await running.value }
    }
}

struct EchoService: Service {
    let server: EchoServer
    func run() async throws {
        try await withGracefulShutdownHandler { try await server.run() } onGracefulShutdown: { server.stop() }
    }
}

/// swift-service-lifecycle's service shape.
protocol Service: Sendable {
    func run() async throws
}

/// The graceful shutdown of the stand-in service group: handlers registered by the service's
/// task, all called on `trigger()`.
final class GracefulShutdown: Sendable {
    @TaskLocal static var current: GracefulShutdown?
    private let handlers = Locked<[@Sendable () -> Void]>([])

    func trigger() {
        handlers.withLock { $0 }.forEach { $0() }
    }

    func register(_ handler: @escaping @Sendable () -> Void) {
        handlers.withLock { $0.append(handler) }
    }
}

/// swift-service-lifecycle's function of that name, in short: `handler` runs when the service
/// group shuts down gracefully, while `operation` runs.
func withGracefulShutdownHandler<T>(operation: () async throws -> T,
                                    onGracefulShutdown handler: @escaping @Sendable () -> Void) async rethrows -> T {
    GracefulShutdown.current?.register(handler)
    return try await operation()
}

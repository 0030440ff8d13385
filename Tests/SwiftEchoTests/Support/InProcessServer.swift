@testable import SwiftEcho

/// An EchoServer in the test process on a free loopback port, started; `port` is where.
func startServer(_ hook: Hook, framing: Framing = .line, sink: CapturingSink = CapturingSink(),
                 _ change: (inout Configuration) -> Void = { _ in }) throws -> EchoServer {
    var configuration = Configuration()
    configuration.port = 0
    configuration.framing = framing
    change(&configuration)
    let server = EchoServer(configuration: configuration, hook: hook,
                            logger: Logger(label: "test", logLevel: .info, sink: sink))
    try server.start()
    return server
}

extension EchoServer {
    /// The first TCP port it listens on (0 when it has none: connecting then fails clearly).
    var port: Int { localAddresses.lazy.compactMap(\.port).first ?? 0 }

    /// Stops the server and waits, bounded, for its loop to end.
    func stopAndWait(graceful: Bool = false, timeout: Double = 10) throws {
        stop(graceful: graceful)
        try Background { self.wait() }.value(timeout: timeout)
    }
}

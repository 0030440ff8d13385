/// Serves an echo server's `/metrics`, `/livez` and `/readyz` over HTTP on an event loop and
/// thread of its own: a second, small ``EchoServer`` whose hook is ``HTTPEndpointHandler``.
/// So a scrape never runs on the echo loops, a slow or hostile HTTP client meets limits of
/// its own, and `/readyz` keeps answering (503) while the echo loops drain.
final class MetricsServer: Sendable {
    private let server: EchoServer

    /// How long an HTTP client may take. Tests shorten them.
    struct Limits: Sendable {
        /// No byte read or written for this long closes the connection (a silent client).
        var idleTimeout = Duration.seconds(5)
        /// The request head must be complete this long after the connection opened (408).
        var requestTimeout = Duration.seconds(5)
    }

    /// Its own limits: a few connections (scrapers and health checkers), short timeouts, and
    /// replies large enough for the metrics of 1024 loops.
    static func configuration(address: ListenAddress, limits: Limits) -> Configuration {
        var configuration = Configuration()
        configuration.listen = [address]
        configuration.maxConnections = 64
        configuration.idleTimeout = limits.idleTimeout
        configuration.writeTimeout = limits.idleTimeout
        configuration.shutdownTimeout = .seconds(1)
        configuration.framing = .raw
        configuration.maxReply = 64 * 1024 * 1024
        configuration.slowHook = .zero
        return configuration
    }

    /// A server for `endpoints` at `address`, logging through `logger` from `warning` up (its
    /// connections are not the echo server's news), tagged `component=metrics`.
    init(address: ListenAddress, endpoints: MetricsEndpoints, logger: Logger, limits: Limits = Limits()) {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        quiet[metadataKey: "component"] = "metrics"
        server = EchoServer(configuration: Self.configuration(address: address, limits: limits),
                            hook: .handler { _ in
                                HTTPEndpointHandler(endpoints: endpoints, requestTimeout: limits.requestTimeout)
                            }, logger: quiet)
    }

    /// Binds and serves on a thread of its own.
    func start() throws(EchoServerError) {
        try server.start()
    }

    /// Where it listens (the real port, also for port 0).
    var address: ListeningAddress? { server.localAddresses.first }

    /// Stops it, letting a response in flight finish (within a second); `wait` for the end.
    func stop() {
        server.stop(graceful: true)
    }

    func wait() {
        server.wait()
    }
}

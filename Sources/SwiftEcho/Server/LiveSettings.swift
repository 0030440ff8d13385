/// What a server may change while it runs (``EchoServer/reload(_:)``), kept together under one
/// lock: the configuration in force, the logger, and how reloads went.
struct LiveSettings: Sendable {
    var configuration: Configuration
    var logger: Logger
    /// Reloads applied (even those that changed nothing).
    var reloads: UInt64 = 0
    /// Reloads refused: the configuration did not parse or validate.
    var failedReloads: UInt64 = 0
}

extension ServerStats {
    /// Adds the server's own reload counters to the loops'.
    mutating func countReloads(of live: LiveSettings) {
        reloads = live.reloads
        failedReloads = live.failedReloads
    }
}

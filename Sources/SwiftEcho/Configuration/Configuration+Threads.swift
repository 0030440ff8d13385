import cecho

extension Configuration {
    /// The most event loops a server runs (`--threads`): far beyond any core count, but a
    /// bound, so a typo cannot ask for a million threads.
    public static let maxThreads = 1024

    /// The event loops a server with this configuration runs: `threads`, or for 0 one per
    /// CPU this process may run on (its affinity mask on Linux), at most ``maxThreads``.
    public var resolvedThreads: Int {
        threads > 0 ? threads : min(Int(ce_cpu_count()), Self.maxThreads)
    }
}

import cecho

extension Backend {
    /// The backends this platform has: `auto`, `select` and `poll` everywhere, `epoll` and
    /// `io_uring` on Linux, `kqueue` on macOS and the BSDs. Whether the kernel lets io_uring
    /// run is known when a server starts (it refuses with the reason).
    public static var available: Set<Backend> {
        Set(allCases.filter { ce_backend_available($0.rawValue) != 0 })
    }
}

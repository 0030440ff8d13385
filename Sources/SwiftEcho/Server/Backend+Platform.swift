import cecho

extension Backend {
    /// The backends this platform has: `auto`, `select` and `poll` everywhere, `epoll` on
    /// Linux, `kqueue` on macOS and the BSDs.
    public static var available: Set<Backend> {
        Set(allCases.filter { ce_backend_available($0.rawValue) != 0 })
    }
}

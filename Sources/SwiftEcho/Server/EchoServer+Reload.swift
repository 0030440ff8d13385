extension EchoServer {
    /// Applies a new configuration while the server runs, as the daemon does on SIGHUP.
    ///
    /// The settings in ``Configuration/reloadableSettings`` take effect at once, for every
    /// loop between two of its turns (never in the middle of a message): new connections get
    /// them, and so do open ones, from their next event on (a timeout counts from then at
    /// the latest). A reload never closes a connection: one open under a wider `allow` or a
    /// higher cap is served on. Log level and format are applied to ``logger`` when they
    /// changed. Every other setting that differs keeps its running value and is returned in
    /// ``ConfigurationReload/pendingRestart``.
    ///
    /// `configuration` is evaluated here, so a failure to produce it (a file that does not
    /// parse) counts as a failed reload, as one that does not validate does: either is
    /// thrown, and then nothing has changed. Counted in ``stats`` as `reloads` and
    /// `reloads.failed`. Before `start` it sets what `start` will use; reloads take turns.
    ///
    /// ```swift
    /// let outcome = try server.reload(try loadConfiguration())
    /// outcome.pendingRestart.forEach { logger.warning("reload: \($0)") }
    /// ```
    @discardableResult
    public func reload(
        _ configuration: @autoclosure () throws(ConfigurationError) -> Configuration
    ) throws(ConfigurationError) -> ConfigurationReload {
        try reloading.withLock { () throws(ConfigurationError) -> ConfigurationReload in
            let requested: Configuration
            do throws(ConfigurationError) {
                requested = try configuration()
                try requested.validate(availableBackends: Backend.available)
            } catch {
                live.withLock { $0.failedReloads += 1 }
                throw error
            }
            let running = self.configuration
            let next = running.takingReloadableSettings(from: requested)
            let applied = running.settingsDiffering(from: next)
            let pending = next.settingsDiffering(from: requested).map {
                ConfigurationReload.PendingRestart(setting: $0, running: next.describe(setting: $0),
                                                   requested: requested.describe(setting: $0))
            }
            var logger = self.logger
            if applied.contains("log-level") { logger.logLevel = next.logLevel }
            if applied.contains("log-format") { logger.format = next.logFormat }
            if !applied.isEmpty, let loops = runningLoops {
                do throws(CoreError) {
                    try loops.apply(next, logger: logger)
                } catch {
                    live.withLock { $0.failedReloads += 1 }
                    throw .usage("Cannot apply the configuration: \(error.message).")
                }
            }
            live.withLock { live in
                live.configuration = next
                live.logger = logger
                live.reloads += 1
            }
            return ConfigurationReload(applied: applied, pendingRestart: pending)
        }
    }
}

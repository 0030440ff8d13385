extension Configuration {
    /// The settings a running server takes on a reload (``EchoServer/reload(_:)``): how
    /// connections are admitted, limited, timed and logged. The rest (what is bound, the
    /// backend, the loops, framing, the hook, UDP, socket file modes, the pid file) was fixed
    /// when the server started and needs a restart; a setting missing here is one of those.
    public static let reloadableSettings: Set<String> = [
        "log-level", "log-format",
        "allow", "max-connections", "max-connections-per-ip", "udp-rate",
        "write-timeout", "idle-timeout", "frame-timeout", "shutdown-timeout", "drain-delay", "keepalive",
        "output-limit", "max-message", "max-reply", "slow-hook", "reply-timeout",
    ]

    /// The names of the settings whose values differ between this configuration and
    /// `other`, in help order.
    public func settingsDiffering(from other: Configuration) -> [String] {
        Self.settingsTable.settings.filter { $0.describe(self) != $0.describe(other) }.map(\.name)
    }

    /// This configuration with every reloadable setting taken from `other`: what a running
    /// server becomes when asked for `other`.
    func takingReloadableSettings(from other: Configuration) -> Configuration {
        var result = self
        for setting in Self.settingsTable.settings where Self.reloadableSettings.contains(setting.name) {
            // `other` is valid, so its value as text parses back: this cannot throw.
            try? setting.assign(&result, setting.describe(other))
        }
        return result
    }

    /// The setting `name` as it would be typed (a list comma-separated), for messages.
    func describe(setting name: String) -> String {
        Self.settingsTable.setting(named: name).map { $0.describe(self).joined(separator: ",") } ?? ""
    }
}

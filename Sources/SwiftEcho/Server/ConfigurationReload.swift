/// What ``EchoServer/reload(_:)`` did with a new configuration.
public struct ConfigurationReload: Sendable, Equatable {
    /// A setting that changed but cannot while the server runs: it keeps its running value
    /// until a restart.
    public struct PendingRestart: Sendable, Equatable, CustomStringConvertible {
        /// The option name: `backend`.
        public let setting: String
        /// The value in force, as it would be typed: `epoll`.
        public let running: String
        /// The value asked for: `poll`.
        public let requested: String

        /// `backend changed (epoll -> poll): needs a restart`.
        public var description: String {
            "\(setting) changed (\(running) -> \(requested)): needs a restart"
        }
    }

    /// The settings that changed and are now in force, by option name, in help order.
    public let applied: [String]
    /// The settings that changed but need a restart, in help order.
    public let pendingRestart: [PendingRestart]

    /// Nothing was different from what runs.
    public var changedNothing: Bool { applied.isEmpty && pendingRestart.isEmpty }

    /// `reloaded configuration: allow, log-level`, or `reloaded configuration: nothing
    /// changed` (a setting that needs a restart is not applied, so it is not named here).
    public var summary: String {
        "reloaded configuration: " + (applied.isEmpty ? "nothing changed" : applied.joined(separator: ", "))
    }
}

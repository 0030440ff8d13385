/// The settings of one `Root` type, in help order, and the conventions every source shares:
/// the environment variable names and the defaults that help prints.
struct SettingsTable<Root: Sendable>: Sendable {
    /// The value before any source is applied; help prints its values as the defaults.
    var defaults: Root
    /// Prefix of every environment variable: `ECHO_` makes `port` into `ECHO_PORT`.
    var environmentPrefix: String
    var settings: [Setting<Root>]

    func setting(named name: String) -> Setting<Root>? {
        settings.first { $0.name == name }
    }

    /// `output-limit` → `ECHO_OUTPUT_LIMIT`.
    func environmentName(for name: String) -> String {
        environmentPrefix + String(name.uppercased().map { $0 == "-" ? "_" : $0 })
    }
}

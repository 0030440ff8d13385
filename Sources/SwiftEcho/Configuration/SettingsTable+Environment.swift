extension SettingsTable {
    /// Applies the `ECHO_*` variables that name a setting: `ECHO_OUTPUT_LIMIT=64KiB`.
    ///
    /// Prefixed variables that name no setting are ignored, not refused: the environment is
    /// shared with everything the process starts, and a variable may belong to a newer version
    /// of the daemon or to another tool that uses the same prefix.
    /// An empty variable counts as unset, since `VAR=` is how shells and systemd units clear one.
    /// A repeatable setting takes a comma-separated list: `ECHO_LISTEN=[::1]:7,127.0.0.1:7`.
    /// Returns how each setting it applied was given, by setting name: `'ECHO_PORT'`.
    @discardableResult
    func applyEnvironment(
        _ environment: [String: String], to root: inout Root
    ) throws(ConfigurationError) -> [String: String] {
        var given: [String: String] = [:]
        // Walk the table, not the dictionary, so that errors come in a stable order.
        for setting in settings {
            let variable = environmentName(for: setting.name)
            guard let text = environment[variable], !text.isEmpty else { continue }
            given[setting.name] = "'\(variable)'"
            let values = setting.isRepeatable
                ? text.split(separator: ",", omittingEmptySubsequences: false).map(trimmingSpaces)
                : [text]
            do throws(ValueRejection) {
                try setting.assign(&root, values)
            } catch {
                throw .usage(
                    "The value \(MessageText.quoted(values[error.index])) is invalid for"
                        + " '\(variable)': \(error.explanation).")
            }
        }
        return given
    }

    private func trimmingSpaces(_ text: Substring) -> String {
        String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

extension SettingsTable {
    /// Applies the setting flags found by ``ArgumentScanner``, checking them in command-line
    /// order. A single-valued flag given twice keeps the last value (swift-argument-parser's
    /// default); a repeatable one collects every value and replaces what earlier sources set.
    /// Returns how each setting it applied was given, by setting name: `'--port'`.
    @discardableResult
    func applyFlags(_ flags: [FlagOccurrence], to root: inout Root) throws(ConfigurationError) -> [String: String] {
        var collected: [Int: [String]] = [:]
        var collectedOrder: [Int] = []
        var given: [String: String] = [:]
        for flag in flags {
            let setting = settings[flag.settingIndex]
            given[setting.name] = "'\(setting.flag)'"
            do throws(ValueRejection) {
                if setting.isRepeatable {
                    var scratch = root  // validate now, so errors stay in command-line order
                    try setting.assign(&scratch, [flag.value])
                    if collected[flag.settingIndex] == nil { collectedOrder.append(flag.settingIndex) }
                    collected[flag.settingIndex, default: []].append(flag.value)
                } else {
                    try setting.assign(&root, [flag.value])
                }
            } catch {
                throw .usage(
                    "The value \(MessageText.quoted(flag.value)) is invalid for '\(setting.flag)':"
                        + " \(error.explanation).")
            }
        }
        for settingIndex in collectedOrder {
            // Every value was checked above, so this cannot fail.
            try? settings[settingIndex].assign(&root, collected[settingIndex] ?? [])
        }
        return given
    }
}

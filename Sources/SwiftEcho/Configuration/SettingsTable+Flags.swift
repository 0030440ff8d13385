extension SettingsTable {
    /// Applies the setting flags found by ``ArgumentScanner``, checking them in command-line
    /// order. A single-valued flag given twice keeps the last value (swift-argument-parser's
    /// default); a repeatable one collects every value and replaces what earlier sources set.
    func applyFlags(_ flags: [FlagOccurrence], to root: inout Root) throws(ConfigurationError) {
        var collected: [Int: [String]] = [:]
        var collectedOrder: [Int] = []
        for flag in flags {
            let setting = settings[flag.settingIndex]
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
                        + " expected \(error.expectation).")
            }
        }
        for settingIndex in collectedOrder {
            // Every value was checked above, so this cannot fail.
            try? settings[settingIndex].assign(&root, collected[settingIndex] ?? [])
        }
    }
}

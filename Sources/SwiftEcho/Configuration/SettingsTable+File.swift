extension SettingsTable {
    /// Applies a configuration file: one JSON object whose keys are the long option names,
    /// e.g. `{"port": 7000, "output-limit": "64KiB", "write-timeout": 1.5}`.
    ///
    /// Numeric settings take a JSON number or the same text a flag would; strings and choices
    /// take a JSON string; booleans a JSON boolean or string; repeatable settings a JSON array
    /// of those (or a single one). Every error is a `.configFile` error naming the file.
    /// Returns how each setting it applied was given, by setting name: `'port' in FILE`.
    @discardableResult
    func applyFile(
        _ bytes: [UInt8], path: String, to root: inout Root
    ) throws(ConfigurationError) -> [String: String] {
        let prefix = "Invalid configuration file \(MessageText.quoted(path)): "
        func invalid(_ detail: String) -> ConfigurationError {
            .configFile(prefix + detail)
        }

        let document: JSONValue
        do throws(JSONReader.SyntaxError) {
            document = try JSONReader.parse(bytes)
        } catch {
            throw invalid("not valid JSON (\(error)).")
        }
        guard case .object(let members) = document else {
            throw invalid(
                "expected a JSON object of settings at the top level, found"
                    + " \(document.typeDescription).")
        }

        var seenKeys: Set<String> = []
        var given: [String: String] = [:]
        for member in members {
            let key = MessageText.quoted(member.key)
            guard let setting = setting(named: member.key) else {
                let suggestion = MessageText.suggestion(for: member.key, among: settings.map(\.name))
                throw invalid("unknown key \(key).\(suggestion)")
            }
            guard seenKeys.insert(member.key).inserted else {
                throw invalid("duplicate key \(key).")
            }
            given[member.key] = "\(key) in \(MessageText.quoted(path))"

            let items: [JSONValue]
            if setting.isRepeatable, case .array(let array) = member.value {
                items = array
            } else {
                items = [member.value]
            }
            var texts: [String] = []
            for item in items {
                guard let text = Self.text(of: item, for: setting.kind) else {
                    throw invalid(
                        "the value \(item.rendered()) is invalid for \(key): expected"
                            + " \(setting.expectation), as \(Self.acceptedTypes(for: setting.kind)).")
                }
                texts.append(text)
            }
            do throws(ValueRejection) {
                try setting.assign(&root, texts)
            } catch {
                throw invalid(
                    "the value \(items[error.index].rendered()) is invalid for \(key):"
                        + " \(error.explanation).")
            }
        }
        return given
    }

    /// The text a JSON value stands for, as if typed on the command line, or nil when a value
    /// of this JSON type does not fit this kind of setting.
    private static func text(of value: JSONValue, for kind: SettingKind) -> String? {
        switch (value, kind) {
        case (.string(let text), _): text
        case (.number(let text), .integer), (.number(let text), .size), (.number(let text), .duration):
            text
        case (.bool(let flag), .boolean): flag ? "true" : "false"
        default: nil
        }
    }

    private static func acceptedTypes(for kind: SettingKind) -> String {
        switch kind {
        case .string, .choice: "a JSON string"
        case .integer, .size, .duration: "a JSON number or string"
        case .boolean: "a JSON boolean or string"
        }
    }
}

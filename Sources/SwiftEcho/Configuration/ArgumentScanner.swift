/// What the command line asks for, before any value is parsed.
enum ScannedArguments: Sendable, Equatable {
    case help
    case version
    /// Run: the `--config` path if one was given, and the setting flags in command-line order.
    case settings(configPath: String?, flags: [FlagOccurrence])
}

/// One setting given on the command line: `--port 7000` or `--port=7000`.
struct FlagOccurrence: Sendable, Equatable {
    /// Index of the setting in the table.
    var settingIndex: Int
    var value: String
}

/// Splits a command line into flags and values, in the manner of swift-argument-parser:
/// `--name value` and `--name=value`, bare boolean flags, `-h`/`--help` and `--version`
/// anywhere, an optional leading `serve` subcommand, and `--` ending the options.
/// It refuses unknown options, missing values and positional arguments; it does not parse
/// values (the settings table does that, in one place, for every source).
struct ArgumentScanner<Root: Sendable> {
    static var subcommand: String { "serve" }
    static var configOption: String { "config" }

    let table: SettingsTable<Root>

    func scan(_ arguments: [String]) throws(ConfigurationError) -> ScannedArguments {
        // Help and version win wherever they are, even next to bad flags, so that a user who
        // asks for help gets it instead of an error.
        let options = arguments.prefix { $0 != "--" }
        if options.contains(where: { $0 == "-h" || $0 == "--help" }) || arguments.first == "help" {
            return .help
        }
        if options.contains("--version") { return .version }

        var index = arguments.first == Self.subcommand ? 1 : 0
        var configPath: String?
        var flags: [FlagOccurrence] = []
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                if index < arguments.count { throw unexpectedArgument(arguments[index], at: index) }
                break
            }
            guard argument.count > 1, argument.hasPrefix("-") else {
                throw unexpectedArgument(argument, at: index - 1)
            }
            guard argument.hasPrefix("--") else { throw unknownOption(argument) }

            let (name, inlineValue) = splitOption(argument)
            if name == Self.configOption {
                configPath = try value(for: "--\(name) <file>", inline: inlineValue, arguments, &index)
                continue
            }
            guard let settingIndex = table.settings.firstIndex(where: { $0.name == name }) else {
                if name == "help" || name == "version" { throw flagTakesNoValue("--\(name)") }
                throw unknownOption(argument)
            }
            let setting = table.settings[settingIndex]
            if setting.kind == .boolean {
                if inlineValue != nil { throw flagTakesNoValue(setting.flag) }
                flags.append(FlagOccurrence(settingIndex: settingIndex, value: "true"))
            } else {
                let text = try value(for: setting.synopsis, inline: inlineValue, arguments, &index)
                flags.append(FlagOccurrence(settingIndex: settingIndex, value: text))
            }
        }
        return .settings(configPath: configPath, flags: flags)
    }

    /// `--name=value` → ("name", "value"); `--name` → ("name", nil).
    private func splitOption(_ argument: String) -> (name: String, value: String?) {
        let body = argument.dropFirst(2)
        guard let equals = body.firstIndex(of: "=") else { return (String(body), nil) }
        return (String(body[..<equals]), String(body[body.index(after: equals)...]))
    }

    /// The inline value, or else the next argument unless it is another option. Negative
    /// numbers such as `-1` count as values so that they get a range error, not this one.
    private func value(
        for synopsis: String, inline: String?, _ arguments: [String], _ index: inout Int
    ) throws(ConfigurationError) -> String {
        if let inline { return inline }
        guard index < arguments.count, !looksLikeOption(arguments[index]) else {
            throw .usage("Missing value for '\(synopsis)'.")
        }
        index += 1
        return arguments[index - 1]
    }

    private func looksLikeOption(_ argument: String) -> Bool {
        guard argument.hasPrefix("-"), let second = argument.dropFirst().first else { return false }
        return !(second.isNumber || second == ".")
    }

    private var optionNames: [String] {
        table.settings.map(\.name) + [Self.configOption, "version", "help"]
    }

    private func unknownOption(_ argument: String) -> ConfigurationError {
        let shown = argument.prefix { $0 != "=" }
        let word = String(shown.drop { $0 == "-" })
        let suggestion = MessageText.suggestion(for: word, among: optionNames, prefix: "--")
        return .usage("Unknown option \(MessageText.quoted(String(shown))).\(suggestion)")
    }

    private func unexpectedArgument(_ argument: String, at position: Int) -> ConfigurationError {
        // Only the first word can be a (mistyped) subcommand.
        let suggestion = position == 0
            ? MessageText.suggestion(for: argument, among: [Self.subcommand]) : ""
        return .usage("Unexpected argument \(MessageText.quoted(argument)).\(suggestion)")
    }

    private func flagTakesNoValue(_ flag: String) -> ConfigurationError {
        .usage("The flag '\(flag)' does not take a value.")
    }
}

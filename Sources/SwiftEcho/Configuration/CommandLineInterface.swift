/// What the command line asks the daemon to do.
public enum Invocation: Sendable, Equatable {
    /// Serve with this configuration.
    case serve(Configuration)
    /// Print this help text to standard output and exit 0. It has no final newline.
    case help(String)
    /// Print this version to standard output and exit 0.
    case version(String)
}

/// The `echo-cli` command line: flags, environment and configuration file in, an
/// ``Invocation`` out. Pure: no global state, no output, no exit; the daemon does those.
public enum CommandLineInterface {
    /// The daemon's name, used in help and error hints.
    public static let commandName = "echo-cli"
    /// The daemon's version, printed by `--version`.
    public static let version = "0.1.0"
    /// The environment variable that names the configuration file (`--config` wins over it).
    public static let configEnvironmentVariable = "ECHO_CONFIG"

    /// Works out what the command line asks for.
    ///
    /// Settings are layered, later wins: defaults, then the JSON file named by `--config` or
    /// `ECHO_CONFIG`, then `ECHO_*` environment variables, then flags. `-h`/`--help` anywhere
    /// returns ``Invocation/help(_:)`` and `--version` returns ``Invocation/version(_:)``,
    /// whatever else is on the line. Every input is either accepted or refused with an error.
    ///
    /// - Parameters:
    ///   - arguments: The command line without the program name (`CommandLine.arguments.dropFirst()`).
    ///   - environment: The process environment; only `ECHO_*` variables are read.
    ///   - readFile: Reads the configuration file; tests inject one. Its error's description
    ///     becomes the reason in the message.
    /// - Throws: ``ConfigurationError``: `.usage` for flags and environment, `.configFile` for
    ///   anything about the file.
    public static func parse(
        arguments: [String],
        environment: [String: String],
        readFile: (String) throws -> [UInt8] = readConfigurationFile
    ) throws(ConfigurationError) -> Invocation {
        let table = Configuration.settingsTable
        let scanned = try ArgumentScanner(table: table).scan(arguments)
        guard case .settings(let configFlag, let flags) = scanned else {
            return scanned == .help ? .help(helpText()) : .version(version)
        }

        var configuration = table.defaults
        var given: [String: String] = [:]  // how each setting was given, by name
        let environmentConfig = environment[configEnvironmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let path = configFlag ?? environmentConfig {
            let bytes: [UInt8]
            do {
                bytes = try readFile(path)
            } catch {
                throw .configFile(
                    "Cannot read configuration file \(MessageText.quoted(path)):"
                        + " \(MessageText.escapingControlCharacters(String(describing: error))).")
            }
            given.merge(try table.applyFile(bytes, path: path, to: &configuration)) { $1 }
        }
        given.merge(try table.applyEnvironment(environment, to: &configuration)) { $1 }
        given.merge(try table.applyFlags(flags, to: &configuration)) { $1 }
        if !configuration.listen.isEmpty {
            try refuseListenWithHostOrPort(given)
            try configuration.checkNoAddressRepeats(source: given["listen"] ?? "'--listen'")
        }
        return .serve(configuration)
    }

    /// `--listen` replaces `--host` and `--port`: given together, from any sources, one of them
    /// would be silently ignored, so they are refused.
    private static func refuseListenWithHostOrPort(_ given: [String: String]) throws(ConfigurationError) {
        guard let listen = given["listen"], let other = given["host"] ?? given["port"] else { return }
        throw .usage(
            "\(listen) and \(other) cannot be combined: --listen replaces --host and --port;"
                + " give the address and port in --listen, as in --listen 127.0.0.1:7.")
    }

    /// Reads a configuration file with POSIX `open`/`read`, up to 1 MiB. The default
    /// `readFile` of ``parse(arguments:environment:readFile:)``.
    public static func readConfigurationFile(_ path: String) throws -> [UInt8] {
        try ConfigurationFileReader.contents(ofFile: path)
    }

    /// The `--help` text, in swift-argument-parser's layout, without a final newline.
    public static func helpText() -> String {
        let table = Configuration.settingsTable
        var entries = table.settings.map { setting in
            HelpFormatter.Entry(
                label: setting.helpLabel, description: setting.help,
                details: helpDetails(for: setting, in: table))
        }
        entries += [
            HelpFormatter.Entry(
                label: "--\(ArgumentScanner<Configuration>.configOption) <file>",
                description: "JSON file of settings; keys are the long option names.",
                details: "(env:\(HelpFormatter.nonBreakingSpace)\(configEnvironmentVariable))"),
            HelpFormatter.Entry(label: "--version", description: "Show the version."),
            HelpFormatter.Entry(label: "-h, --help", description: "Show help information."),
        ]
        return HelpFormatter().render(
            overview: "A fast, hardened TCP echo server (RFC 862 style): every byte a client"
                + " sends comes back.",
            usage: "\(commandName) [\(ArgumentScanner<Configuration>.subcommand)] [<options>]",
            entries: entries,
            notes: [
                "Settings are layered: defaults, then the --config file, then ECHO_* environment"
                    + " variables, then flags.",
                "Sizes are bytes (suffixes KiB, MiB, GiB allowed); times are seconds (fractions"
                    + " allowed).",
                "Signals: SIGTERM or SIGINT stops gracefully (a second one stops at once);"
                    + " SIGUSR1 logs the counters; SIGHUP reads the --config file again and applies"
                    + " what can change while running.",
            ])
    }

    /// `(values: a, b; default: a, env: ECHO_X)`.
    private static func helpDetails(
        for setting: Setting<Configuration>, in table: SettingsTable<Configuration>
    ) -> String {
        let space = String(HelpFormatter.nonBreakingSpace)
        var parts: [String] = []
        let defaults = setting.describe(table.defaults)
        if setting.kind != .boolean, !defaults.allSatisfy(\.isEmpty) {
            parts.append("default:\(space)\(defaults.joined(separator: ","))")
        }
        parts.append("env:\(space)\(table.environmentName(for: setting.name))")
        let values = setting.allowedValues.map { "values: \($0.joined(separator: ", ")); " } ?? ""
        return "(\(values)\(parts.joined(separator: ", ")))"
    }
}

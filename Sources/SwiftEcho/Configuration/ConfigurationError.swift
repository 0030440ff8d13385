/// A refused command line, environment variable or configuration file.
///
/// The daemon prints ``formattedForStderr`` and exits with ``exitCode``.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong, which decides the exit status.
    public enum Kind: Sendable, Equatable {
        /// A bad flag or environment variable: exit status 64 (`EX_USAGE`).
        case usage
        /// The configuration file could not be read or holds a bad value: exit status 78
        /// (`EX_CONFIG`).
        case configFile
    }

    /// What was wrong.
    public var kind: Kind
    /// One sentence (or two, with a suggestion) that follows "Error: ": it names the setting,
    /// the bad value, what is allowed and, unless it was a flag, where the value came from.
    public var message: String

    /// An error of the given kind with the given message.
    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    /// The process exit status for this error, from `sysexits.h`.
    public var exitCode: Int32 {
        switch kind {
        case .usage: 64
        case .configFile: 78
        }
    }

    /// `Error: <message>`.
    public var description: String { "Error: \(message)" }

    /// Exactly two lines, the error and a pointer to `--help`, without a final newline (like
    /// `print` expects), ready for standard error.
    public var formattedForStderr: String {
        "\(description)\nSee '\(CommandLineInterface.commandName) --help' for more information."
    }

    static func usage(_ message: String) -> ConfigurationError {
        ConfigurationError(kind: .usage, message: message)
    }

    static func configFile(_ message: String) -> ConfigurationError {
        ConfigurationError(kind: .configFile, message: message)
    }
}

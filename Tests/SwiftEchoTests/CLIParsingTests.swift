@testable import SwiftEcho
import Testing

@Suite("Command line")
struct CLIParsingTests {
    // MARK: Accepted command lines

    @Test func noArgumentsServeTheDefaults() throws {
        #expect(try parse([]) == .serve(Configuration()))
    }

    @Test func serveSubcommandIsOptional() throws {
        #expect(try parse(["serve"]) == .serve(Configuration()))
        #expect(try parse(["serve", "--port", "7"]) == parse(["--port", "7"]))
    }

    @Test(arguments: SettingExample.all)
    func eachSettingAsSeparateValue(_ example: SettingExample) throws {
        #expect(try configuration(["--\(example.name)", example.text]) == example.expected)
    }

    @Test(arguments: SettingExample.all)
    func eachSettingWithEqualsSign(_ example: SettingExample) throws {
        #expect(try configuration(["serve", "--\(example.name)=\(example.text)"]) == example.expected)
    }

    @Test func lastOfARepeatedFlagWins() throws {
        #expect(try configuration(["--port", "1", "--port=2"]).port == 2)
    }

    @Test func everyEarlierValueIsStillChecked() {
        #expect(refusal(["--port", "70000", "--port", "2"])?.message
            == "The value '70000' is invalid for '--port': expected an integer from 0 to 65535.")
    }

    @Test func hostAcceptsNamesAndAddresses() throws {
        for host in ["localhost", "::1", "0.0.0.0", "example.org", "fe80::1%eth0"] {
            #expect(try configuration(["--host", host]).host == host)
        }
    }

    @Test func valueMayContainAnEqualsSign() throws {
        #expect(try configuration(["--host=a=b"]).host == "a=b")
    }

    @Test func choicesIgnoreLetterCase() throws {
        #expect(try configuration(["--log-level", "WARNING"]).logLevel == .warning)
        #expect(try configuration(["--backend", "Epoll"]).backend == .epoll)
    }

    // MARK: Boundaries

    @Test(arguments: [
        ("port", "0"), ("port", "65535"), ("backlog", "1"), ("backlog", "65535"),
        ("max-connections", "1"), ("max-connections", "1000000"),
        ("output-limit", "1024"), ("output-limit", "1KiB"), ("output-limit", "1073741824"),
        ("output-limit", "1GiB"), ("write-timeout", "0"), ("write-timeout", "86400"),
        ("idle-timeout", "86400"), ("shutdown-timeout", "3600"), ("shutdown-timeout", "0"),
        ("keepalive", "0"), ("keepalive", "32767"),
    ])
    func boundaryValuesAreAccepted(name: String, value: String) throws {
        _ = try configuration(["--\(name)", value])
    }

    @Test(arguments: [
        ("port", "65536"), ("port", "-1"), ("backlog", "0"), ("backlog", "65536"),
        ("max-connections", "0"), ("max-connections", "1000001"),
        ("output-limit", "1023"), ("output-limit", "1073741825"), ("output-limit", "2GiB"),
        ("write-timeout", "86400.001"), ("idle-timeout", "86401"), ("shutdown-timeout", "3600.5"),
        ("keepalive", "32768"), ("keepalive", "-1"),
        ("port", "99999999999999999999999"), ("output-limit", "9999999999999999GiB"),
    ])
    func valuesJustOutsideTheRangeAreRefused(name: String, value: String) {
        #expect(refusal(["--\(name)", value])?.kind == .usage)
    }

    // MARK: Value syntax

    @Test(arguments: [("64KiB", 65536), ("1MiB", 1 << 20), ("1GiB", 1 << 30), ("2048", 2048), ("64kib", 65536), ("0064KiB", 65536)])
    func sizeSuffixes(text: String, bytes: Int) throws {
        #expect(try configuration(["--output-limit", text]).outputLimit == bytes)
    }

    @Test(arguments: ["64 KiB", "KiB", "1.5KiB", "64KB", "64k", "+2048", "0x800", "", " 2048"])
    func malformedSizesAreRefused(text: String) {
        #expect(refusal(["--output-limit", text])?.message
            == "The value '\(text)' is invalid for '--output-limit': expected a size in bytes"
            + " from 1024 to 1073741824 (suffixes KiB, MiB, GiB allowed).")
    }

    @Test(arguments: [
        ("1.5", Duration.milliseconds(1500)), ("0.25", .milliseconds(250)), (".5", .milliseconds(500)),
        ("2.", .seconds(2)), ("0", .zero), ("0.000000001", .nanoseconds(1)), ("007", .seconds(7)),
    ])
    func fractionalSecondsAreExact(text: String, duration: Duration) throws {
        #expect(try configuration(["--write-timeout", text]).writeTimeout == duration)
    }

    @Test(arguments: ["-1", "1e3", "nan", "inf", "", ".", "1.2.3", "1,5", "1s", "+1", " 1"])
    func malformedSecondsAreRefused(text: String) {
        #expect(refusal(["--idle-timeout", text])?.message
            == "The value '\(text)' is invalid for '--idle-timeout': expected a number of seconds"
            + " from 0 to 86400 (fractions allowed).")
    }

    @Test(arguments: ["1.0", "1e3", "+5", " 5", "5 ", "five", ""])
    func integersArePlainDecimal(text: String) {
        #expect(refusal(["--backlog", text])?.kind == .usage)
    }

    // MARK: Errors, with their exact messages

    @Test func portOutOfRange() {
        let error = refusal(["--port", "70000"])
        #expect(error?.message == "The value '70000' is invalid for '--port': expected an integer from 0 to 65535.")
        #expect(error?.kind == .usage)
        #expect(error?.exitCode == 64)
    }

    @Test func unknownBackend() {
        #expect(refusal(["--backend", "slow"])?.message
            == "The value 'slow' is invalid for '--backend': expected one of auto, select, poll, epoll, kqueue, io_uring.")
    }

    @Test func unknownLogLevel() {
        #expect(refusal(["--log-level=loud"])?.message
            == "The value 'loud' is invalid for '--log-level': expected one of trace, debug, info,"
            + " notice, warning, error, critical.")
    }

    @Test func emptyHostIsRefused() {
        #expect(refusal(["--host="])?.message
            == "The value '' is invalid for '--host': expected a non-empty host name or address.")
    }

    @Test func unknownOptionSuggestsTheClosestOne() {
        #expect(refusal(["--prot", "5"])?.message == "Unknown option '--prot'. Did you mean '--port'?")
        #expect(refusal(["--max-conections=5"])?.message
            == "Unknown option '--max-conections'. Did you mean '--max-connections'?")
        #expect(refusal(["-port", "5"])?.message == "Unknown option '-port'. Did you mean '--port'?")
    }

    @Test func unknownOptionWithoutACloseMatch() {
        let error = refusal(["--frobnicate"])
        #expect(error?.message == "Unknown option '--frobnicate'.")
        #expect(error?.exitCode == 64)
        #expect(refusal(["-x"])?.message == "Unknown option '-x'.")
    }

    @Test func missingValue() {
        #expect(refusal(["--port"])?.message == "Missing value for '--port <port>'.")
        #expect(refusal(["--port", "--host", "::1"])?.message == "Missing value for '--port <port>'.")
        #expect(refusal(["--config"])?.message == "Missing value for '--config <file>'.")
    }

    @Test func negativeNumberIsAValueNotAnOption() {
        #expect(refusal(["--port", "-1"])?.message
            == "The value '-1' is invalid for '--port': expected an integer from 0 to 65535.")
    }

    @Test func unexpectedArguments() {
        #expect(refusal(["foo"])?.message == "Unexpected argument 'foo'.")
        #expect(refusal(["serve", "foo"])?.message == "Unexpected argument 'foo'.")
        #expect(refusal(["--port", "5", "7000"])?.message == "Unexpected argument '7000'.")
        #expect(refusal(["--", "--port"])?.message == "Unexpected argument '--port'.")
        #expect(refusal(["serve", "serve"])?.message == "Unexpected argument 'serve'.")
        #expect(refusal(["-"])?.message == "Unexpected argument '-'.")
    }

    @Test func trailingDoubleDashIsHarmless() throws {
        #expect(try parse(["--port", "5", "--"]) == .serve(Configuration(port: 5)))
    }

    @Test func mistypedSubcommandGetsASuggestion() {
        let error = refusal(["serv", "--port", "1"])
        #expect(error?.message == "Unexpected argument 'serv'. Did you mean 'serve'?")
        #expect(error?.exitCode == 64)
    }

    @Test func flagsThatTakeNoValue() {
        #expect(refusal(["--version=2"])?.message == "The flag '--version' does not take a value.")
        #expect(refusal(["--help=all"])?.message == "The flag '--help' does not take a value.")
    }

    @Test func controlCharactersInValuesAreEscapedInMessages() {
        #expect(refusal(["--port", "1\n2"])?.message
            == "The value '1\\n2' is invalid for '--port': expected an integer from 0 to 65535.")
    }

    /// Found by Fuzz/configuration: NEL (U+0085) split the message for Unicode-aware readers, and
    /// U+009B is an 8-bit terminal escape.
    @Test func unicodeLineBreaksAndC1ControlsAreEscapedInMessages() {
        let error = refusal(["--v\u{85}x\u{9B}2J\u{2028}\u{2029}.json"])
        #expect(error?.message.contains(where: \.isNewline) == false)
        #expect(error?.message.hasPrefix("Unknown option '--v\\u{85}x\\u{9b}2J\\u{2028}\\u{2029}.json'") == true)
        #expect(refusal(["--port", "1\u{85}2"])?.message
            == "The value '1\\u{85}2' is invalid for '--port': expected an integer from 0 to 65535.")
    }

    @Test func errorIsFormattedForStandardError() {
        let error = ConfigurationError(kind: .usage, message: "Unknown option '--prot'.")
        #expect(error.description == "Error: Unknown option '--prot'.")
        #expect(error.formattedForStderr
            == "Error: Unknown option '--prot'.\nSee 'echo-cli --help' for more information.")
    }

    // MARK: Help and version

    @Test(arguments: [["--help"], ["-h"], ["serve", "--help"], ["help"], ["--prot", "5", "--help"],
                      ["--port", "-h"], ["--version", "--help"], ["bogus", "-h"]])
    func helpWinsWherever(_ arguments: [String]) throws {
        #expect(try parse(arguments) == .help(CommandLineInterface.helpText()))
    }

    @Test func helpAfterDoubleDashIsAnArgument() {
        #expect(refusal(["--", "--help"])?.message == "Unexpected argument '--help'.")
    }

    @Test(arguments: [["--version"], ["serve", "--version"], ["--port", "70000", "--version"]])
    func version(_ arguments: [String]) throws {
        #expect(try parse(arguments) == .version("0.1.0"))
        #expect(CommandLineInterface.version == "0.1.0")
    }

    @Test func helpDoesNotReadTheConfigurationFile() throws {
        #expect(try parse(["--help"], environment: ["ECHO_CONFIG": "missing.json"])
            == .help(CommandLineInterface.helpText()))
    }

    @Test func helpHasTheArgumentParserSections() {
        let help = CommandLineInterface.helpText()
        #expect(help.hasPrefix("OVERVIEW: A fast, hardened TCP echo server (RFC 862 style)"))
        #expect(help.contains("\n\nUSAGE: echo-cli [serve] [<options>]\n\nOPTIONS:\n"))
        #expect(help.contains("\n  --version "))
        #expect(help.contains("\n  -h, --help "))
        // Wrapping splits sentences over lines; compare them with the line breaks removed.
        let flattened = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flattened.contains(
            "Settings are layered: defaults, then the --config file, then ECHO_* environment variables, then flags."))
        #expect(flattened.contains(
            "Sizes are bytes (suffixes KiB, MiB, GiB allowed); times are seconds (fractions allowed)."))
        #expect(flattened.contains("auto picks epoll on Linux, kqueue on BSD/macOS, poll elsewhere"))
        #expect(!help.hasSuffix("\n"))
    }

    @Test(arguments: [
        ("--host <host>", "127.0.0.1", "ECHO_HOST"), ("--port <port>", "10000", "ECHO_PORT"),
        ("--backend <backend>", "auto", "ECHO_BACKEND"), ("--backlog <count>", "1024", "ECHO_BACKLOG"),
        ("--max-connections <count>", "10000", "ECHO_MAX_CONNECTIONS"),
        ("--output-limit <bytes>", "256KiB", "ECHO_OUTPUT_LIMIT"),
        ("--write-timeout <seconds>", "60", "ECHO_WRITE_TIMEOUT"),
        ("--idle-timeout <seconds>", "0", "ECHO_IDLE_TIMEOUT"),
        ("--keepalive <seconds>", "300", "ECHO_KEEPALIVE"),
        ("--shutdown-timeout <seconds>", "5", "ECHO_SHUTDOWN_TIMEOUT"),
        ("--log-level <level>", "info", "ECHO_LOG_LEVEL"),
        ("--log-format <format>", "text", "ECHO_LOG_FORMAT"),
    ])
    func helpListsEveryOptionWithDefaultAndEnvironment(label: String, defaultValue: String, variable: String) throws {
        let help = CommandLineInterface.helpText()
        let entry = try #require(optionEntry(label, in: help))
        #expect(entry.contains("default: \(defaultValue),"))
        #expect(entry.contains("env: \(variable))"))
    }

    @Test func helpListsTheConfigOptionAndItsVariable() throws {
        let entry = try #require(optionEntry("--config <file>", in: CommandLineInterface.helpText()))
        #expect(entry.contains("(env: ECHO_CONFIG)"))
    }

    @Test func helpFitsInEightyColumnsWithAnAlignedDescriptionColumn() {
        let lines = CommandLineInterface.helpText().split(separator: "\n", omittingEmptySubsequences: false)
        for line in lines {
            #expect(line.count <= 80, "too wide: \(line)")
        }
        let options = lines.drop { $0 != "OPTIONS:" }.dropFirst().prefix { !$0.isEmpty }
        var columns: Set<Int> = []
        for line in options {
            let leadingSpaces = line.prefix { $0 == " " }.count
            if leadingSpaces == 2 {
                // "  --label <value>   Description": the description starts after the gap.
                let label = line.dropFirst(2)
                guard let gap = label.firstRange(of: "  ") else { continue }
                let description = label[gap.upperBound...].drop { $0 == " " }
                columns.insert(line.distance(from: line.startIndex, to: description.startIndex))
            } else {
                columns.insert(leadingSpaces)
            }
        }
        #expect(columns.count == 1, "description columns: \(columns)")
    }

    /// The lines of one option in help: its label line and the indented lines that follow.
    private func optionEntry(_ label: String, in help: String) -> String? {
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("  \(label) ") }) else { return nil }
        let rest = lines[(start + 1)...].prefix { $0.hasPrefix("    ") }
        return ([lines[start]] + rest).map { $0.drop { $0 == " " } }.joined(separator: " ")
    }
}

@testable import SwiftEcho
import Testing

/// The kinds that later settings need (booleans, repeatable lists), proven on a table of their
/// own so that adding `--udp` or `--listen` to the daemon is one row each.
@Suite("Setting kinds")
struct SettingKindsTests {
    struct Example: Sendable, Equatable {
        var udp = false
        var listen: [String] = []
        var threads = 1
    }

    static let table = SettingsTable<Example>(
        defaults: Example(), environmentPrefix: "EX_",
        settings: [
            .single("udp", valueName: "", .boolean, \.udp, help: "Also serve UDP."),
            .repeated(
                "listen", valueName: "address",
                .text(expectation: "an address such as [::1]:7", isValid: { $0.contains(":") }),
                \.listen, help: "Address to listen on; repeat for several."),
            .single("threads", valueName: "count", .integer(in: 1...64), \.threads, help: "Loops to run."),
        ])

    private func fromFlags(_ arguments: [String]) throws(ConfigurationError) -> Example {
        var example = Self.table.defaults
        guard case .settings(_, let flags) = try ArgumentScanner(table: Self.table).scan(arguments) else {
            return example
        }
        try Self.table.applyFlags(flags, to: &example)
        return example
    }

    private func fromFile(_ json: String) throws(ConfigurationError) -> Example {
        var example = Self.table.defaults
        try Self.table.applyFile(Array(json.utf8), path: "x.json", to: &example)
        return example
    }

    private func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> Example {
        var example = Self.table.defaults
        try Self.table.applyEnvironment(environment, to: &example)
        return example
    }

    // MARK: Booleans

    @Test func booleanIsABareFlag() throws {
        #expect(try fromFlags(["--udp"]).udp)
        #expect(try fromFlags([]).udp == false)
        #expect(try fromFlags(["--udp", "--threads", "2"]) == Example(udp: true, threads: 2))
    }

    @Test func booleanFlagTakesNoValue() {
        #expect(throws: ConfigurationError(kind: .usage, message: "The flag '--udp' does not take a value.")) {
            try fromFlags(["--udp=false"])
        }
        // The next word is not swallowed as a value: it is a stray argument.
        #expect(throws: ConfigurationError(kind: .usage, message: "Unexpected argument 'false'.")) {
            try fromFlags(["--udp", "false"])
        }
    }

    @Test(arguments: [("true", true), ("1", true), ("YES", true), ("on", true), ("false", false), ("0", false), ("No", false), ("off", false)])
    func booleanFromTheEnvironment(text: String, value: Bool) throws {
        #expect(try fromEnvironment(["EX_UDP": text]).udp == value)
    }

    @Test func badBooleanFromTheEnvironment() {
        #expect(throws: ConfigurationError(kind: .usage, message: "The value 'maybe' is invalid for 'EX_UDP': expected true or false.")) {
            try fromEnvironment(["EX_UDP": "maybe"])
        }
    }

    @Test func booleanFromTheFile() throws {
        #expect(try fromFile(#"{"udp": true}"#).udp)
        #expect(try fromFile(#"{"udp": "on"}"#).udp)
        #expect(throws: ConfigurationError(
            kind: .configFile,
            message: "Invalid configuration file 'x.json': the value 1 is invalid for 'udp': expected true or false, as a JSON boolean or string."
        )) {
            try fromFile(#"{"udp": 1}"#)
        }
    }

    // MARK: Repeatable settings

    @Test func repeatedFlagsCollectEveryValue() throws {
        #expect(try fromFlags(["--listen", "[::1]:7", "--listen=127.0.0.1:7"]).listen == ["[::1]:7", "127.0.0.1:7"])
    }

    @Test func badRepeatedFlagNamesTheBadValue() {
        #expect(throws: ConfigurationError(
            kind: .usage, message: "The value 'nowhere' is invalid for '--listen': expected an address such as [::1]:7."
        )) {
            try fromFlags(["--listen", "a:1", "--listen", "nowhere"])
        }
    }

    @Test func commaSeparatedEnvironmentList() throws {
        #expect(try fromEnvironment(["EX_LISTEN": "a:1, b:2 ,c:3"]).listen == ["a:1", "b:2", "c:3"])
        #expect(throws: ConfigurationError(
            kind: .usage, message: "The value '' is invalid for 'EX_LISTEN': expected an address such as [::1]:7."
        )) {
            try fromEnvironment(["EX_LISTEN": "a:1,,b:2"])
        }
    }

    @Test func jsonArrayOrSingleValue() throws {
        #expect(try fromFile(#"{"listen": ["a:1", "b:2"]}"#).listen == ["a:1", "b:2"])
        #expect(try fromFile(#"{"listen": "a:1"}"#).listen == ["a:1"])
        #expect(try fromFile(#"{"listen": []}"#).listen == [])
        #expect(throws: ConfigurationError(
            kind: .configFile,
            message: "Invalid configuration file 'x.json': the value \"b\" is invalid for 'listen': expected an address such as [::1]:7."
        )) {
            try fromFile(#"{"listen": ["a:1", "b"]}"#)
        }
        #expect(throws: ConfigurationError(
            kind: .configFile,
            message: "Invalid configuration file 'x.json': the value [\"a:1\"] is invalid for 'listen': expected an address such as [::1]:7, as a JSON string."
        )) {
            try fromFile(#"{"listen": [["a:1"]]}"#)
        }
    }

    @Test func laterSourceReplacesTheWholeList() throws {
        var example = Self.table.defaults
        try Self.table.applyFile(Array(#"{"listen": ["file:1", "file:2"]}"#.utf8), path: "x.json", to: &example)
        try Self.table.applyEnvironment(["EX_LISTEN": "env:1"], to: &example)
        #expect(example.listen == ["env:1"])
        guard case .settings(_, let flags) = try ArgumentScanner(table: Self.table).scan(["--listen", "flag:1", "--listen", "flag:2"]) else {
            Issue.record("expected settings")
            return
        }
        try Self.table.applyFlags(flags, to: &example)
        #expect(example.listen == ["flag:1", "flag:2"])
    }

    @Test func helpLabels() {
        #expect(Self.table.settings.map(\.helpLabel) == ["--udp", "--listen <address> ...", "--threads <count>"])
        #expect(Self.table.settings.map { $0.describe(Example(udp: true, listen: ["a:1", "b:2"])) }
            == [["true"], ["a:1", "b:2"], ["1"]])
    }
}

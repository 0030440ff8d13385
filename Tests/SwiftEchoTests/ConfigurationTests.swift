import Foundation
@testable import SwiftEcho
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    // MARK: Defaults

    @Test func defaults() {
        let configuration = Configuration()
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 10000)
        #expect(configuration.backend == .auto)
        #expect(configuration.backlog == 1024)
        #expect(configuration.maxConnections == 10000)
        #expect(configuration.outputLimit == 262_144)
        #expect(configuration.writeTimeout == .seconds(60))
        #expect(configuration.idleTimeout == .zero)
        #expect(configuration.keepalive == .seconds(300))
        #expect(configuration.shutdownTimeout == .seconds(5))
        #expect(configuration.logLevel == .info)
        #expect(configuration.logFormat == .text)
        #expect(configuration.framing == .raw)
        #expect(configuration.maxMessage == 1_048_576)
        #expect(configuration.frameTimeout == .seconds(30))
        #expect(configuration.maxReply == 4_194_304)
        #expect(configuration.hook == .echo)
        #expect(configuration.slowHook == .milliseconds(100))
    }

    @Test(arguments: ["echo", "upper", "lower", "reverse", "rot13", "async-upper", "prefix:", "prefix:>> ", "PREFIX:x", "Upper"])
    func everyBuiltinHookNameParses(name: String) throws {
        let hook = try configuration(["--hook", name]).hook
        #expect(BuiltinHook(name: hook.description) == hook, "\(hook) prints back to a name that parses")
    }

    @Test func anUnknownHookNamesTheChoices() {
        let error = refusal(["--hook", "shout"])
        #expect(error?.message == "The value 'shout' is invalid for '--hook': expected one of echo, upper, lower,"
            + " reverse, rot13, async-upper, prefix:TEXT, fail-every:N (N an integer ≥ 1), delay:MS or delay:MIN-MAX"
            + " (milliseconds, 0 to 3600000).")
    }

    @Test func backendsInPreferenceOfTheirNames() {
        #expect(Backend.allCases.map(\.rawValue) == ["auto", "select", "poll", "epoll", "kqueue", "io_uring"])
    }

    @Test func loggingMetadataPrintsEverySettingAsTyped() {
        let metadata = Configuration(writeTimeout: .milliseconds(1500)).loggingMetadata
        #expect(metadata["port"] == "10000")
        #expect(metadata["output-limit"] == "256KiB")
        #expect(metadata["write-timeout"] == "1.5")
        #expect(metadata.count == Configuration.settingsTable.settings.count)
    }

    // MARK: Environment

    @Test(arguments: SettingExample.all)
    func eachSettingFromTheEnvironment(_ example: SettingExample) throws {
        let variable = "ECHO_" + example.name.uppercased().replacingOccurrences(of: "-", with: "_")
        #expect(try configuration([], environment: [variable: example.text]) == example.expected)
    }

    @Test func environmentVariableNames() {
        let table = Configuration.settingsTable
        #expect(table.environmentName(for: "port") == "ECHO_PORT")
        #expect(table.environmentName(for: "output-limit") == "ECHO_OUTPUT_LIMIT")
        #expect(table.environmentName(for: "log-level") == "ECHO_LOG_LEVEL")
    }

    @Test func unknownAndEmptyVariablesAreIgnored() throws {
        let environment = ["ECHO_PROT": "1", "ECHO_FUTURE_SETTING": "x", "ECHO_PORT": "", "PORT": "1", "echo_port": "2"]
        #expect(try configuration([], environment: environment) == Configuration())
    }

    @Test func badEnvironmentValueNamesTheVariable() {
        let error = refusal([], environment: ["ECHO_OUTPUT_LIMIT": "x"])
        #expect(error?.message
            == "The value 'x' is invalid for 'ECHO_OUTPUT_LIMIT': expected a size in bytes from 1024"
            + " to 1073741824 (suffixes KiB, MiB, GiB allowed).")
        #expect(error?.kind == .usage)
        #expect(error?.exitCode == 64)
    }

    @Test func environmentErrorsComeInTableOrder() {
        let error = refusal([], environment: ["ECHO_LOG_FORMAT": "xml", "ECHO_PORT": "-5"])
        #expect(error?.message == "The value '-5' is invalid for 'ECHO_PORT': expected an integer from 0 to 65535.")
    }

    // MARK: Configuration file

    @Test(arguments: SettingExample.all)
    func eachSettingFromTheFileAsAString(_ example: SettingExample) throws {
        let file = "{\"\(example.name)\": \"\(example.text)\"}"
        #expect(try configuration(["--config", "x.json"], files: ["x.json": file]) == example.expected)
    }

    @Test func numbersInTheFile() throws {
        let file = #"{"port": 7000, "output-limit": 65536, "write-timeout": 1.5, "idle-timeout": 0.25, "host": "::1"}"#
        let expected = Configuration(
            host: "::1", port: 7000, outputLimit: 65536, writeTimeout: .milliseconds(1500),
            idleTimeout: .milliseconds(250))
        #expect(try configuration(["--config", "x.json"], files: ["x.json": file]) == expected)
    }

    @Test func emptyObjectKeepsTheDefaults() throws {
        #expect(try configuration(["--config", "x.json"], files: ["x.json": " {\n} \n"]) == Configuration())
    }

    @Test func fileMayStartWithAByteOrderMark() throws {
        #expect(try configuration(["--config", "x.json"], files: ["x.json": "\u{FEFF}{\"port\": 1}"]).port == 1)
    }

    @Test func fileValueOutOfRange() {
        let error = refusal(["--config", "x.json"], files: ["x.json": #"{"port": 70000}"#])
        #expect(error?.message
            == "Invalid configuration file 'x.json': the value 70000 is invalid for 'port': expected an integer from 0 to 65535.")
        #expect(error?.kind == .configFile)
        #expect(error?.exitCode == 78)
    }

    @Test func fileStringValueIsShownAsJSON() {
        #expect(fileError(#"{"backend": "fast"}"#)
            == "Invalid configuration file 'x.json': the value \"fast\" is invalid for 'backend': expected one of"
            + " auto, select, poll, epoll, kqueue, io_uring.")
    }

    @Test(arguments: ["1e3", "1.5", "-1", "1E2", "7000.0"])
    func integerSettingsRefuseFractionsAndExponents(number: String) {
        #expect(fileError("{\"port\": \(number)}")
            == "Invalid configuration file 'x.json': the value \(number) is invalid for 'port': expected an integer from 0 to 65535.")
    }

    @Test func durationsRefuseExponents() {
        #expect(fileError(#"{"write-timeout": 1e1}"#)
            == "Invalid configuration file 'x.json': the value 1e1 is invalid for 'write-timeout': expected a number"
            + " of seconds from 0 to 86400 (fractions allowed).")
    }

    @Test func unknownKey() {
        #expect(fileError(#"{"prot": 1}"#) == "Invalid configuration file 'x.json': unknown key 'prot'. Did you mean 'port'?")
        #expect(fileError(#"{"colour": 1}"#) == "Invalid configuration file 'x.json': unknown key 'colour'.")
    }

    @Test func configKeyInsideTheFileIsUnknown() {
        #expect(fileError(#"{"config": "other.json"}"#) == "Invalid configuration file 'x.json': unknown key 'config'.")
    }

    @Test func duplicateKey() {
        #expect(fileError(#"{"port": 1, "port": 2}"#) == "Invalid configuration file 'x.json': duplicate key 'port'.")
    }

    @Test(arguments: [("[1,2]", "[1,2]"), ("{\"a\":1}", "{\"a\":1}"), ("null", "null"), ("true", "true")])
    func wrongJSONTypeForANumber(json: String, shown: String) {
        #expect(fileError("{\"port\": \(json)}")
            == "Invalid configuration file 'x.json': the value \(shown) is invalid for 'port': expected an integer"
            + " from 0 to 65535, as a JSON number or string.")
    }

    @Test(arguments: ["5", "[\"a\"]", "false", "null"])
    func wrongJSONTypeForAString(json: String) {
        #expect(fileError("{\"host\": \(json)}")
            == "Invalid configuration file 'x.json': the value \(json) is invalid for 'host': expected a non-empty"
            + " host name or address, as a JSON string.")
        #expect(fileError("{\"log-level\": \(json)}")?.contains("as a JSON string.") == true)
    }

    @Test func longValuesAreShortenedInMessages() throws {
        let message = try #require(fileError("{\"port\": [\(Array(repeating: "1", count: 100).joined(separator: ","))]}"))
        #expect(message.contains("the value [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1… is invalid"))
    }

    @Test(arguments: [("[1]", "an array"), ("\"port\"", "a string"), ("7", "a number"), ("null", "null")])
    func topLevelMustBeAnObject(json: String, found: String) {
        #expect(fileError(json)
            == "Invalid configuration file 'x.json': expected a JSON object of settings at the top level, found \(found).")
    }

    @Test(arguments: [
        ("", "unexpected end of input at line 1, column 1"),
        ("{\"port\": 1,}", "unexpected character '}' at line 1, column 12"),
        ("{\n  \"port\": 01\n}", "unexpected character '1' at line 2, column 12"),
        ("{\"port\": 1} x", "unexpected character 'x' at line 1, column 13"),
        ("{'port': 1}", "unexpected character ''' at line 1, column 2"),
        ("{\"port\": 1", "unexpected end of input at line 1, column 11"),
    ])
    func notValidJSON(json: String, reason: String) {
        #expect(fileError(json) == "Invalid configuration file 'x.json': not valid JSON (\(reason)).")
    }

    @Test func unreadableFile() {
        let error = refusal(["--config", "secret.json"])
        #expect(error?.message == "Cannot read configuration file 'secret.json': Permission denied.")
        #expect(error?.kind == .configFile)
        #expect(error?.exitCode == 78)
    }

    @Test func posixReaderReportsErrno() {
        #expect(throws: ConfigurationFileReader.ReadError(description: "No such file or directory")) {
            try ConfigurationFileReader.contents(ofFile: "/nonexistent/swiftecho/x.json")
        }
        #expect(throws: ConfigurationFileReader.ReadError(description: "Is a directory")) {
            try ConfigurationFileReader.contents(ofFile: "/")
        }
    }

    @Test func posixReaderReadsAWholeFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftecho-\(UUID()).json").path
        let contents = "{\"port\": 7000, \"padding\": \"\(String(repeating: "x", count: 40_000))\"}"
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try CommandLineInterface.readConfigurationFile(path) == Array(contents.utf8))
        #expect(throws: ConfigurationError.self) {
            try CommandLineInterface.parse(arguments: ["--config", path], environment: [:])
        }
    }

    @Test func endlessFilesAreCutOff() {
        #expect(throws: ConfigurationFileReader.ReadError(description: "the file is larger than 1 MiB")) {
            try ConfigurationFileReader.contents(ofFile: "/dev/zero")
        }
    }

    @Test func missingFileThroughTheDefaultReader() {
        #expect(throws: ConfigurationError(
            kind: .configFile,
            message: "Cannot read configuration file '/nonexistent/swiftecho.json': No such file or directory."
        )) {
            try CommandLineInterface.parse(arguments: [], environment: ["ECHO_CONFIG": "/nonexistent/swiftecho.json"])
        }
    }

    // MARK: Layering

    @Test func laterSourcesWin() throws {
        let files = ["x.json": #"{"port": 1, "backlog": 11, "max-connections": 111, "host": "file"}"#]
        let environment = ["ECHO_CONFIG": "x.json", "ECHO_BACKLOG": "22", "ECHO_MAX_CONNECTIONS": "222"]
        let result = try configuration(["--max-connections", "333"], environment: environment, files: files)
        #expect(result.port == 1)  // file
        #expect(result.host == "file")  // file
        #expect(result.backlog == 22)  // environment over file
        #expect(result.maxConnections == 333)  // flag over environment over file
        #expect(result.logLevel == .info)  // default
    }

    @Test func configFlagWinsOverTheVariable() throws {
        let files = ["flag.json": #"{"port": 1}"#, "env.json": #"{"port": 2}"#]
        #expect(try configuration(["--config", "flag.json"], environment: ["ECHO_CONFIG": "env.json"], files: files).port == 1)
        #expect(try configuration([], environment: ["ECHO_CONFIG": "env.json"], files: files).port == 2)
        #expect(try configuration(["--config=env.json", "--config", "flag.json"], files: files).port == 1)
    }

    @Test func noFileUnlessOneIsNamed() throws {
        #expect(try configuration([], environment: ["ECHO_CONFIG": ""]) == Configuration())
    }

    @Test func aBadFileIsReportedEvenIfAFlagOverridesTheSetting() {
        #expect(refusal(["--config", "x.json", "--port", "1"], files: ["x.json": #"{"port": 70000}"#])?.kind == .configFile)
    }

    // MARK: Validation of a finished configuration

    @Test func availableBackends() throws {
        let linux: Set<Backend> = [.auto, .select, .poll, .epoll]
        try Configuration(backend: .epoll).validate(availableBackends: linux)
        try Configuration().validate(availableBackends: linux)
        #expect(throws: ConfigurationError(
            kind: .usage,
            message: "The value 'kqueue' is invalid for '--backend': this platform has auto, select, poll, epoll."
        )) {
            try Configuration(backend: .kqueue).validate(availableBackends: linux)
        }
    }

    @Test func validationAppliesTheTableToConfigurationsBuiltInCode() {
        let all = Set(Backend.allCases)
        #expect(throws: ConfigurationError(
            kind: .usage, message: "The value '70000' is invalid for '--port': expected an integer from 0 to 65535."
        )) {
            try Configuration(port: 70000).validate(availableBackends: all)
        }
        #expect(throws: ConfigurationError.self) { try Configuration(host: "").validate(availableBackends: all) }
        #expect(throws: ConfigurationError.self) { try Configuration(idleTimeout: .seconds(-1)).validate(availableBackends: all) }
        #expect(throws: ConfigurationError.self) { try Configuration(outputLimit: 1000).validate(availableBackends: all) }
        #expect(throws: ConfigurationError.self) {
            try Configuration(shutdownTimeout: .milliseconds(3_600_001)).validate(availableBackends: all)
        }
    }

    // MARK: Value syntax round trips

    @Test(arguments: [Duration.seconds(60), .zero, .milliseconds(250), .milliseconds(1500), .nanoseconds(1), .seconds(86400)])
    func secondsPrintAndParseBack(duration: Duration) {
        #expect(ValueSyntax.parseSeconds(ValueSyntax.formatSeconds(duration)) == duration)
    }

    @Test func sizesPrintInTheLargestExactUnit() {
        #expect(ValueSyntax.formatSize(262_144) == "256KiB")
        #expect(ValueSyntax.formatSize(1 << 30) == "1GiB")
        #expect(ValueSyntax.formatSize(1536 * 1024) == "1536KiB")
        #expect(ValueSyntax.formatSize(1000) == "1000")
        #expect(ValueSyntax.formatSize(0) == "0")
    }

    @Test func negativeDurationsPrintWithASign() {
        #expect(ValueSyntax.formatSeconds(.milliseconds(-1500)) == "-1.5")
    }

    private func fileError(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        refusal(["--config", "x.json"], files: ["x.json": json], sourceLocation: sourceLocation)?.message
    }
}

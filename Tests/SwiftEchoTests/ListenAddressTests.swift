@testable import SwiftEcho
import Testing

/// `--listen` and `--unix-mode` as text: what parses to what, what is refused and how the
/// refusal reads, and how the sources (flags, ECHO_*, the JSON file) combine.
@Suite("Listen addresses") struct ListenAddressTests {
    @Test(arguments: [
        ("127.0.0.1:7", ListenAddress.tcp(host: "127.0.0.1", port: 7)),
        ("localhost:0", .tcp(host: "localhost", port: 0)),
        ("0.0.0.0:65535", .tcp(host: "0.0.0.0", port: 65535)),
        ("[::1]:7000", .tcp(host: "::1", port: 7000)),
        ("[::]:0", .tcp(host: "::", port: 0)),
        ("[fe80::1%eth0]:7", .tcp(host: "fe80::1%eth0", port: 7)),
        ("unix:/run/echo.sock", .unix(path: "/run/echo.sock")),
        ("unix:echo.sock", .unix(path: "echo.sock")),
        ("unix:a:b,c", .unix(path: "a:b,c")),
    ])
    func parsesAndPrintsBack(text: String, address: ListenAddress) throws {
        #expect(try ListenAddress(parsing: text) == address)
        #expect(address.description == text, "prints back as it is typed")
    }

    /// Every refusal says what is wrong with the value, then what a good one looks like.
    static let refusals: [(text: String, problem: String)] = [
        ("127.0.0.1", "the port is missing"),
        ("127.0.0.1:", "the port is missing"),
        ("127.0.0.1:70000", "the port '70000' is not a number from 0 to 65535"),
        ("127.0.0.1:-1", "the port '-1' is not a number from 0 to 65535"),
        ("127.0.0.1:http", "the port 'http' is not a number from 0 to 65535"),
        (":7", "the host is empty"),
        ("::1:7", "an IPv6 address with a port needs brackets, as in [::1]:7"),
        ("[::1]", "the port is missing"),
        ("[::1]7", "expected ':' and a port after ']'"),
        ("[::1:7", "the '[' has no closing ']'"),
        ("[]:7", "the host is empty"),
        ("[127.0.0.1]:7", "brackets are for IPv6 addresses"),
        ("unix:", "the Unix socket path is empty"),
        ("unix:/" + String(repeating: "s", count: 107), "the Unix socket path is 108 bytes, longer than the 107 a socket address holds"),
        ("", "the port is missing"),
    ]

    @Test(arguments: refusals)
    func refusesWithTheReason(text: String, problem: String) {
        #expect(throws: ListenAddress.ParseError(description: problem)) { try ListenAddress(parsing: text) }
        let message = refusal(["--listen", text])?.message
        #expect(message == "The value \(MessageText.quoted(text)) is invalid for '--listen': \(problem);"
            + " expected HOST:PORT, [IPV6]:PORT or unix:PATH (PORT from 0 to 65535).")
    }

    @Test func repeatedFlagsKeepEveryAddressInOrder() throws {
        let configuration = try configuration(["--listen", "127.0.0.1:0", "--listen", "unix:/tmp/e.sock", "--listen", "[::1]:7"])
        #expect(configuration.listen == [.tcp(host: "127.0.0.1", port: 0), .unix(path: "/tmp/e.sock"), .tcp(host: "::1", port: 7)])
    }

    @Test func theSameSocketTwiceIsRefusedButPortZeroIsNot() throws {
        let twice = ["--listen", "unix:/tmp/e.sock", "--listen", "127.0.0.1:7", "--listen", "unix:/tmp/e.sock"]
        #expect(refusal(twice) == .usage("The value 'unix:/tmp/e.sock' is given twice for '--listen'."))
        let fromEnvironment = refusal([], environment: ["ECHO_LISTEN": "127.0.0.1:7,127.0.0.1:7"])
        #expect(fromEnvironment?.message.hasSuffix("is given twice for 'ECHO_LISTEN'.") == true, "\(String(describing: fromEnvironment))")
        var built = Configuration()
        built.listen = [.unix(path: "a"), .unix(path: "a")]
        #expect(throws: ConfigurationError.usage("The value 'unix:a' is given twice for '--listen'.")) {
            try built.validate(availableBackends: Backend.available)
        }
        let zeros = try configuration(["--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0"])
        #expect(throws: Never.self) { try zeros.validate(availableBackends: Backend.available) }
    }

    @Test func environmentTakesACommaSeparatedList() throws {
        let configuration = try configuration([], environment: ["ECHO_LISTEN": "127.0.0.1:7, unix:e.sock"])
        #expect(configuration.listen == [.tcp(host: "127.0.0.1", port: 7), .unix(path: "e.sock")])
        let message = refusal([], environment: ["ECHO_LISTEN": "127.0.0.1:7,,unix:e.sock"])?.message
        #expect(message?.contains("'' is invalid for 'ECHO_LISTEN': the port is missing") == true, "\(message ?? "")")
    }

    @Test func fileTakesAJSONArrayOrOneString() throws {
        let array = try configuration(["--config", "a.json"], files: ["a.json": #"{"listen": ["[::1]:7", "unix:/tmp/e.sock"]}"#])
        #expect(array.listen == [.tcp(host: "::1", port: 7), .unix(path: "/tmp/e.sock")])
        let one = try configuration(["--config", "b.json"], files: ["b.json": #"{"listen": "127.0.0.1:7"}"#])
        #expect(one.listen == [.tcp(host: "127.0.0.1", port: 7)])
        let bad = refusal(["--config", "c.json"], files: ["c.json": #"{"listen": ["127.0.0.1:7", "[::1]"]}"#])
        #expect(bad?.kind == .configFile)
        #expect(bad?.message.contains(#"the value "[::1]" is invalid for 'listen': the port is missing;"#) == true,
                "\(bad?.message ?? "")")
    }

    @Test func flagsReplaceTheListOfEarlierSources() throws {
        let configuration = try configuration(["--listen", "unix:f.sock"], environment: ["ECHO_LISTEN": "127.0.0.1:7,[::1]:7"])
        #expect(configuration.listen == [.unix(path: "f.sock")])
    }

    /// `--listen` with `--host` or `--port`, from any mix of sources, names both.
    @Test(arguments: [
        (["--listen", "127.0.0.1:7", "--port", "7"], [:], nil, "'--listen' and '--port'"),
        (["--host", "::1", "--listen", "127.0.0.1:7"], [:], nil, "'--listen' and '--host'"),
        (["--port", "0"], ["ECHO_LISTEN": "unix:e.sock"], nil, "'ECHO_LISTEN' and '--port'"),
        (["--listen", "unix:e.sock"], ["ECHO_HOST": "::1"], nil, "'--listen' and 'ECHO_HOST'"),
        (["--config", "f.json"], [:], #"{"listen": "127.0.0.1:7", "port": 7}"#, "'listen' in 'f.json' and 'port' in 'f.json'"),
        (["--config", "f.json", "--listen", "127.0.0.1:7"], [:], #"{"host": "::1"}"#, "'--listen' and 'host' in 'f.json'"),
    ] as [([String], [String: String], String?, String)])
    func listenWithHostOrPortIsRefused(arguments: [String], environment: [String: String], file: String?, names: String) {
        let error = refusal(arguments, environment: environment, files: file.map { ["f.json": $0] } ?? [:])
        #expect(error?.kind == .usage)
        #expect(error?.message == "\(names) cannot be combined: --listen replaces --host and --port;"
            + " give the address and port in --listen, as in --listen 127.0.0.1:7.")
    }

    /// An empty JSON array asks for no `--listen` addresses: `--host` and `--port` apply.
    @Test func anEmptyListInTheFileLeavesHostAndPort() throws {
        let configuration = try configuration(["--config", "e.json"], files: ["e.json": #"{"listen": [], "port": 7}"#])
        #expect(configuration.listen.isEmpty && configuration.port == 7)
    }

    @Test(arguments: [("0660", 0o660), ("600", 0o600), ("0777", 0o777), ("0", 0), ("0007", 0o7)])
    func unixModeIsOctal(text: String, mode: Int) throws {
        #expect(try configuration(["--unix-mode", text]).unixMode == mode)
        #expect(ValueSyntax.formatPermissions(mode).count == 4)
    }

    @Test(arguments: ["0800", "1000", "01777", "9", "", "rw-rw----", "0o660", "+660", " 660", "00660"])
    func unixModeRefusesWhatIsNotOctalPermissions(text: String) {
        #expect(refusal(["--unix-mode", text])?.message
            == "The value \(MessageText.quoted(text)) is invalid for '--unix-mode': expected octal permissions"
            + " from 0000 to 0777, such as 0660.")
    }

    @Test func helpDescribesBothOptions() {
        let help = CommandLineInterface.helpText()
        #expect(help.contains("--listen <address> ..."))
        #expect(help.contains("--unix-mode <mode>"))
        #expect(help.contains("0660"))
    }
}

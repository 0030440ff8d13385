import Foundation
import Glibc
import SwiftEcho
import Testing

/// The daemon's command line as an operator meets it: help, version, errors and their exit
/// statuses, the listening line, log formats, IPv6.
@Suite struct CLITests {
    @Test func helpListsEveryOptionOnStdout() throws {
        let run = try Daemon.run(["--help"])
        #expect(run.termination == .exited(0))
        for text in ["USAGE:", "OPTIONS:", "--host", "--port", "--backend", "--backlog", "--max-connections",
                     "--output-limit", "--write-timeout", "--idle-timeout", "--shutdown-timeout",
                     "--log-level", "--log-format", "--pid-file", "--config", "--version", "ECHO_PORT", "ECHO_PID_FILE",
                     "(default: 10000"] {
            #expect(run.stdout.contains(text), "help lacks \(text)")
        }
        #expect(run.stderr.isEmpty)
    }

    @Test func versionPrintsAndExitsZero() throws {
        let run = try Daemon.run(["--version"])
        #expect(run.termination == .exited(0))
        #expect(run.stdout == CommandLineInterface.version + "\n")
    }

    @Test(arguments: [
        (["--port", "70000"], "'--port'", "70000"),
        (["--backend", "kqueue"], "'--backend'", "kqueue"),
        (["--backend", "fast"], "'--backend'", "fast"),
        (["--output-limit", "-1"], "'--output-limit'", "-1"),
        (["--write-timeout", "soon"], "'--write-timeout'", "soon"),
        (["--log-level", "loud"], "'--log-level'", "loud"),
        (["--bogus"], "'--bogus'", "--bogus"),
    ])
    func invalidFlagsExitWithUsage(arguments: [String], setting: String, value: String) throws {
        let run = try Daemon.run(arguments)
        #expect(run.termination == .exited(64))
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.first?.hasPrefix("Error: ") == true, "stderr: \(run.stderr)")
        #expect(lines.first?.contains(setting) == true && lines.first?.contains(value) == true)
        #expect(lines.count >= 2 && lines[1].contains("--help"))
        #expect(!run.stderr.contains("listening on"), "nothing is bound on an error")
    }

    @Test func invalidEnvironmentExitsWithUsage() throws {
        let run = try Daemon.run([], environment: ["ECHO_PORT": "ten"])
        #expect(run.termination == .exited(64))
        #expect(run.stderr.hasPrefix("Error: ") && run.stderr.contains("ECHO_PORT") && run.stderr.contains("ten"))
    }

    @Test(arguments: [
        ("{\"port\": 70000}", "port"),
        ("{\"prot\": 7000}", "prot"),
        ("{not json", "JSON"),
        ("[1, 2]", "object"),
    ])
    func invalidConfigFilesExitWithConfigError(contents: String, mention: String) throws {
        let path = try temporaryFile(contents)
        defer { unlink(path) }
        let run = try Daemon.run(["--config", path])
        #expect(run.termination == .exited(78))
        #expect(run.stderr.hasPrefix("Error: "), "stderr: \(run.stderr)")
        #expect(run.stderr.contains(path) && run.stderr.contains(mention))
    }

    @Test func anUnreadableConfigFileExitsWithConfigError() throws {
        let run = try Daemon.run(["--config", "/nonexistent/echo.json"])
        #expect(run.termination == .exited(78))
        #expect(run.stderr.contains("/nonexistent/echo.json"))
    }

    @Test func aConfigFileSetsTheBackend() throws {
        let path = try temporaryFile("{\"backend\": \"poll\", \"port\": 0}")
        defer { unlink(path) }
        let daemon = try Daemon.serving(["--config", path])
        #expect(daemon.stderr.contains("backend poll"))
        let client = try TestClient(port: daemon.port)
        #expect(try client.roundTrip([1]))
        client.close()
        daemon.expectDescriptorsAtBaseline()
    }

    @Test func aPortInUseExitsUnavailableNamingTheAddress() throws {
        let first = try Daemon.serving([])
        let run = try Daemon.run(["--port", "\(first.port)"])
        #expect(run.termination == .exited(69))
        #expect(run.stderr.hasPrefix("Error: "))
        #expect(run.stderr.contains("127.0.0.1:\(first.port)") && run.stderr.contains("Address already in use"))
    }

    @Test func anUnknownHostExitsUnavailable() throws {
        let run = try Daemon.run(["--host", "no-such-host.invalid", "--port", "0"])
        #expect(run.termination == .exited(69))
        #expect(run.stderr.contains("no-such-host.invalid"))
    }

    @Test func logsTheListeningAddressAndBackend() throws {
        let daemon = try Daemon.serving([])
        #expect(daemon.stderr.contains("info echo-cli: "))
        #expect(daemon.stderr.contains("listening on 127.0.0.1:\(daemon.port), backend epoll"))
    }

    @Test func theServeSubcommandServes() throws {
        let daemon = try Daemon(["serve", "--port", "0"])
        #expect(daemon.waitForOutput(containing: "listening on", timeout: 10))
    }

    @Test func servesIPv6OnLoopback() throws {
        let daemon = try Daemon.serving(["--host", "::1"])
        #expect(daemon.stderr.contains("listening on [::1]:\(daemon.port)"))
        let client = try TestClient(host: "::1", port: daemon.port)
        #expect(try client.roundTrip(Payload.random(count: 3000, seed: 6)))
        client.close()
        daemon.expectDescriptorsAtBaseline()
    }

    @Test func jsonLogsAreOneObjectPerLine() throws {
        let daemon = try Daemon.serving(["--log-format", "json"])
        daemon.send(signal: SIGUSR1)
        #expect(daemon.waitForOutput(containing: "\"message\":\"stats\"", timeout: 5))
        let lines = daemon.stderr.split(separator: "\n")
        #expect(lines.count >= 2)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] != nil && object?["message"] != nil, "\(line)")
        }
        #expect(lines.contains { $0.contains("\"message\":\"stats\"") && $0.contains("\"accepted\":\"0\"") })
    }

    @Test func debugLevelShowsConnectionEvents() throws {
        let daemon = try Daemon.serving(["--log-level", "debug"])
        let client = try TestClient(port: daemon.port)
        #expect(try client.roundTrip([1]))
        client.close()
        #expect(daemon.waitForOutput(containing: "closing connection", timeout: 2))
        #expect(daemon.stderr.contains("new connection"))
        #expect(daemon.stderr.contains("reason=\"peer closed\""))
        daemon.expectDescriptorsAtBaseline()
    }

    private func temporaryFile(_ contents: String) throws -> String {
        var template = Array("/tmp/echo-cli-test-XXXXXX.json".utf8CString)
        let fd = mkstemps(&template, 5)
        guard fd >= 0 else { throw TestClientError("mkstemps failed") }
        _ = contents.utf8CString.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count - 1) }
        close(fd)
        return string(fromCString: template)
    }
}

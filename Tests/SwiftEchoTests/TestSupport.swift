import Foundation
@testable import SwiftEcho
import Synchronization
import Testing

/// A file that the injected `readFile` cannot read.
struct FakeReadError: Error, CustomStringConvertible {
    var description: String { "Permission denied" }
}

/// Parses with an in-memory file system: `files` maps paths to contents; other paths fail.
func parse(
    _ arguments: [String], environment: [String: String] = [:], files: [String: String] = [:]
) throws(ConfigurationError) -> Invocation {
    try CommandLineInterface.parse(arguments: arguments, environment: environment) { path in
        guard let contents = files[path] else { throw FakeReadError() }
        return Array(contents.utf8)
    }
}

/// The configuration a command line serves with; records an issue if it asks for something else.
func configuration(
    _ arguments: [String], environment: [String: String] = [:], files: [String: String] = [:],
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> Configuration {
    let invocation = try parse(arguments, environment: environment, files: files)
    guard case .serve(let configuration) = invocation else {
        Issue.record("expected .serve, got \(invocation)", sourceLocation: sourceLocation)
        return Configuration()
    }
    return configuration
}

/// The error a command line is refused with, or nil (and an issue) if it is accepted.
func refusal(
    _ arguments: [String], environment: [String: String] = [:], files: [String: String] = [:],
    sourceLocation: SourceLocation = #_sourceLocation
) -> ConfigurationError? {
    do {
        let invocation = try parse(arguments, environment: environment, files: files)
        Issue.record("expected an error, got \(invocation)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// One setting given as text, and the configuration it should produce.
struct SettingExample: Sendable, CustomTestStringConvertible {
    var name: String
    var text: String
    var expected: Configuration
    var testDescription: String { "\(name)=\(text)" }

    /// Each setting once, with a value that differs from its default.
    static let all: [SettingExample] = [
        SettingExample(name: "host", text: "::1", expected: Configuration(host: "::1")),
        SettingExample(name: "port", text: "7000", expected: Configuration(port: 7000)),
        SettingExample(name: "listen", text: "[::1]:7", expected: Configuration(listen: [.tcp(host: "::1", port: 7)])),
        SettingExample(name: "unix-mode", text: "0600", expected: Configuration(unixMode: 0o600)),
        SettingExample(name: "backend", text: "poll", expected: Configuration(backend: .poll)),
        SettingExample(name: "backlog", text: "128", expected: Configuration(backlog: 128)),
        SettingExample(name: "max-connections", text: "500", expected: Configuration(maxConnections: 500)),
        SettingExample(name: "output-limit", text: "64KiB", expected: Configuration(outputLimit: 65536)),
        SettingExample(name: "write-timeout", text: "1.5", expected: Configuration(writeTimeout: .milliseconds(1500))),
        SettingExample(name: "idle-timeout", text: "30", expected: Configuration(idleTimeout: .seconds(30))),
        SettingExample(name: "keepalive", text: "7.5", expected: Configuration(keepalive: .milliseconds(7500))),
        SettingExample(name: "shutdown-timeout", text: "0.25", expected: Configuration(shutdownTimeout: .milliseconds(250))),
        SettingExample(name: "framing", text: "line", expected: Configuration(framing: .line)),
        SettingExample(name: "max-message", text: "4KiB", expected: Configuration(maxMessage: 4096)),
        SettingExample(name: "frame-timeout", text: "2.5", expected: Configuration(frameTimeout: .milliseconds(2500))),
        SettingExample(name: "max-reply", text: "100", expected: Configuration(maxReply: 100)),
        SettingExample(name: "hook", text: "prefix:a:b ", expected: Configuration(hook: .prefix("a:b "))),
        SettingExample(name: "slow-hook", text: "0", expected: Configuration(slowHook: .zero)),
        SettingExample(name: "reply-timeout", text: "2.5", expected: Configuration(replyTimeout: .milliseconds(2500))),
        SettingExample(name: "log-level", text: "debug", expected: Configuration(logLevel: .debug)),
        SettingExample(name: "log-format", text: "json", expected: Configuration(logFormat: .json)),
        SettingExample(name: "pid-file", text: "/run/echo.pid", expected: Configuration(pidFile: "/run/echo.pid")),
        SettingExample(name: "udp-rate", text: "50", expected: Configuration(udpRate: 50)),
        SettingExample(name: "allow", text: "10.0.0.0/8", expected: Configuration(allow: ["10.0.0.0/8"])),
        SettingExample(name: "max-connections-per-ip", text: "3", expected: Configuration(maxConnectionsPerIP: 3)),
        SettingExample(name: "metrics", text: "[::1]:9100", expected: Configuration(metrics: .tcp(host: "::1", port: 9100))),
        SettingExample(name: "drain-delay", text: "2.5", expected: Configuration(drainDelay: .milliseconds(2500))),
        SettingExample(name: "proxy-from", text: "10.0.0.0/8", expected: Configuration(proxyFrom: ["10.0.0.0/8"])),
        SettingExample(name: "proxy-timeout", text: "0.5", expected: Configuration(proxyTimeout: .milliseconds(500))),
    ]
}

/// Runs `body` on `threads` new threads that all start at the same moment, and waits for them.
/// (`DispatchQueue.concurrentPerform` starts its workers lazily: short work may never overlap.)
func runConcurrently(threads: Int, _ body: @escaping @Sendable (_ thread: Int) -> Void) {
    let startingLine = StartingLine(runners: threads)
    let finished = DispatchGroup()
    for thread in 0..<threads {
        finished.enter()
        Thread {
            startingLine.arriveAndWait()
            body(thread)
            finished.leave()
        }.start()
    }
    // The bodies bound their own waits (socket timeouts); this bound is for one that does not.
    if finished.wait(timeout: .now() + 120 * Sanitizer.slowdown) == .timedOut {
        Issue.record("runConcurrently: a thread still running after \(120 * Sanitizer.slowdown) s")
    }
}

/// A one-shot barrier: every runner waits until all have arrived.
private final class StartingLine: Sendable {
    private let runners: Int
    private let arrived = Atomic<Int>(0)

    init(runners: Int) {
        self.runners = runners
    }

    func arriveAndWait() {
        arrived.add(1, ordering: .acquiringAndReleasing)
        while arrived.load(ordering: .acquiring) < runners { sched_yield() }
    }
}

import Glibc
@testable import SwiftEcho
import Testing

/// `EchoServer.reload`: what it applies, what it keeps for a restart, what it refuses, and
/// how it counts, in process.
@Suite struct ReloadTests {
    private func running(_ change: (inout Configuration) -> Void = { _ in }) throws -> EchoServer {
        try startServer(.echo, framing: .raw, change)
    }

    @Test func appliesReloadableSettingsAndNamesThem() throws {
        let server = try running()
        defer { try? server.stopAndWait() }
        var next = server.configuration
        next.idleTimeout = .seconds(30)
        next.allow = ["127.0.0.0/8"]
        let outcome = try server.reload(next)
        #expect(outcome.applied == ["allow", "idle-timeout"])
        #expect(outcome.pendingRestart.isEmpty)
        #expect(outcome.summary == "reloaded configuration: allow, idle-timeout")
        #expect(server.configuration == next)
        #expect(server.stats.reloads == 1 && server.stats.failedReloads == 0)
        let client = try TestClient(port: server.port)
        #expect(try client.roundTrip([1, 2, 3]), "still serving, and 127.0.0.1 is allowed")
    }

    @Test func theSameConfigurationChangesNothing() throws {
        let server = try running()
        defer { try? server.stopAndWait() }
        let outcome = try server.reload(server.configuration)
        #expect(outcome.changedNothing)
        #expect(outcome.summary == "reloaded configuration: nothing changed")
        #expect(server.stats.reloads == 1)
    }

    @Test func aRestartOnlySettingKeepsItsRunningValue() throws {
        let server = try running { $0.backend = .epoll }
        defer { try? server.stopAndWait() }
        var next = server.configuration
        next.backend = .poll
        next.framing = .line
        next.maxReply = 1000
        let outcome = try server.reload(next)
        #expect(outcome.applied == ["max-reply"])
        #expect(outcome.pendingRestart.map(\.description) == [
            "backend changed (epoll -> poll): needs a restart",
            "framing changed (raw -> line): needs a restart",
        ])
        #expect(server.configuration.backend == .epoll && server.configuration.framing == .raw)
        #expect(server.configuration.maxReply == 1000)
        #expect(server.backend == "epoll")
    }

    @Test func anInvalidConfigurationChangesNothingAndIsCounted() throws {
        let server = try running()
        defer { try? server.stopAndWait() }
        let before = server.configuration
        var next = before
        next.idleTimeout = .seconds(5)
        next.maxMessage = 0  // out of range
        #expect(throws: ConfigurationError.self) { try server.reload(next) }
        func unreadable() throws(ConfigurationError) -> Configuration {
            throw ConfigurationError(kind: .configFile, message: "Invalid configuration file 'x'.")
        }
        #expect(throws: ConfigurationError.self) { try server.reload(try unreadable()) }
        #expect(server.configuration == before)
        #expect(server.stats.failedReloads == 2 && server.stats.reloads == 0)
        #expect(server.stats.metadata["reloads.failed"] == "2")
    }

    @Test func theLoggerTakesANewLevelAndFormatOnlyWhenTheyChanged() throws {
        let sink = CapturingSink()
        let server = try startServer(.echo, framing: .raw, sink: sink)
        defer { try? server.stopAndWait() }
        #expect(server.logger.logLevel == .info)
        var next = server.configuration
        next.idleTimeout = .seconds(1)
        try server.reload(next)
        #expect(server.logger.logLevel == .info && server.logger.format == .text)
        next.logLevel = .debug
        next.logFormat = .json
        try server.reload(next)
        #expect(server.logger.logLevel == .debug && server.logger.format == .json)
        #expect(server.logger.label == "test", "the same logger, reconfigured")
    }

    /// `slow-hook` reaches the loops: a 20 ms hook is slow for a 5 ms threshold, and not for
    /// the 10 s one it starts with (however late a loaded machine runs it).
    @Test(arguments: EchoTests.backends)
    func aNewSlowHookThresholdCountsTheNextCall(backend: String) throws {
        let slow = Hook.map { message in
            usleep(20_000)
            return message.text
        }
        let server = try startServer(slow, framing: .line) {
            $0.backend = Backend(rawValue: backend)!
            $0.slowHook = .seconds(10)
        }
        defer { try? server.stopAndWait() }
        let client = try TestClient(port: server.port)
        #expect(try client.roundTrip(Array("a\n".utf8)))
        #expect(server.stats.slowHooks == 0)
        var next = server.configuration
        next.slowHook = .milliseconds(5)
        #expect(try server.reload(next).applied == ["slow-hook"])
        #expect(try client.roundTrip(Array("b\n".utf8)))
        #expect(server.stats.slowHooks == 1)
    }

    /// From a hook, on the loop's own thread: the reload does not wait for that loop (which
    /// could not turn meanwhile), and applies once the hook returns.
    @Test func aHookMayReloadItsOwnServer() throws {
        let holder = Locked<EchoServer?>(nil)
        let hook = Hook.map { message in
            if let server = holder.withLock({ $0 }) {
                var next = server.configuration
                next.idleTimeout = .seconds(9)
                _ = try? server.reload(next)
            }
            return message.text
        }
        let server = try startServer(hook, framing: .line)
        defer { try? server.stopAndWait() }
        holder.withLock { $0 = server }
        let client = try TestClient(port: server.port, timeout: 5)
        #expect(try client.roundTrip(Array("reload\n".utf8)))
        #expect(server.configuration.idleTimeout == .seconds(9) && server.stats.reloads == 1)
        holder.withLock { $0 = nil }
    }

    @Test func beforeStartItSetsWhatStartUses() throws {
        var configuration = Configuration()
        configuration.port = 0
        let server = EchoServer(configuration: configuration, logger: quietLogger)
        configuration.maxConnections = 3
        try server.reload(configuration)
        try server.start()
        defer { try? server.stopAndWait() }
        #expect(server.configuration.maxConnections == 3)
    }
}

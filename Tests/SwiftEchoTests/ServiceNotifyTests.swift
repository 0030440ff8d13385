import Glibc
import Synchronization
import Testing

/// sd_notify without libsystemd: `READY=1` once listening, `STOPPING=1` when a graceful stop
/// begins, to the datagram socket NOTIFY_SOCKET names (a path or an abstract `@name`).
@Suite struct ServiceNotifyTests {
    private static let serial = Atomic<Int>(0)

    /// A unique abstract name, or a path in `scratch`.
    private func address(abstract: Bool, in scratch: TemporaryDirectory) -> String {
        let n = Self.serial.add(1, ordering: .relaxed).newValue
        return abstract ? "@swift-echo-test-\(getpid())-\(n)" : scratch.file("notify")
    }

    @Test(arguments: [false, true])
    func readyOnceListeningAndStoppingOnSIGTERM(abstract: Bool) throws {
        let scratch = try TemporaryDirectory()
        let manager = try NotifyReceiver(address: address(abstract: abstract, in: scratch))
        let daemon = try Daemon(["--port", "0"], environment: ["NOTIFY_SOCKET": manager.address])
        let ready = try #require(manager.receive(timeout: 10 * Sanitizer.slowdown), "no READY=1; stderr:\n\(daemon.stderr)")
        let lines = ready.split(separator: "\n")
        #expect(lines.first == "READY=1")
        #expect(lines.contains("MAINPID=\(daemon.pid)"))
        // Ready means serving: the address in STATUS takes a connection at once.
        let status = try #require(lines.first { $0.hasPrefix("STATUS=listening on 127.0.0.1:") })
        let port = try #require(Int(status.split(separator: ":").last!))
        let client = try TestClient(port: port)
        #expect(try client.roundTrip(Array("ready".utf8)))
        client.close()

        daemon.send(signal: SIGTERM)
        let stopping = manager.receive(timeout: 5)
        #expect(stopping?.split(separator: "\n").first == "STOPPING=1", "got \(stopping ?? "nothing")")
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
        #expect(manager.receive(timeout: 0.2) == nil, "nothing more after STOPPING=1")
    }

    /// A socket nobody listens on costs a warning, never the daemon.
    @Test func anUnreachableManagerIsAWarningOnly() throws {
        let scratch = try TemporaryDirectory()
        let daemon = try Daemon.serving([], environment: ["NOTIFY_SOCKET": scratch.file("nobody")])
        #expect(daemon.waitForOutput(containing: "warning echo-cli: ", timeout: 5))
        #expect(daemon.stderr.contains("cannot notify the service manager: sendto(\(scratch.file("nobody"))):"))
        let client = try TestClient(port: daemon.port)
        #expect(try client.roundTrip([7]))
        client.close()
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
    }

    @Test func aRelativeAddressIsRefusedWithAWarning() throws {
        let daemon = try Daemon.serving([], environment: ["NOTIFY_SOCKET": "relative/notify"])
        #expect(daemon.waitForOutput(containing: "not an absolute path or @abstract name", timeout: 5))
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
    }
}

import Glibc
import Testing

extension Adversarial {
    /// RELIABILITY.md, "Lifecycle and configuration": stops under load and at rest, on every
    /// backend and repeatedly; configuration errors that never bind; where the daemon listens.
    @Suite struct LifecycleTests {
        /// SIGTERM while twenty clients have data in flight, three times over: new connections
        /// are refused, every byte already read is echoed before FIN, exit 0.
        @Test(arguments: EchoTests.backends)
        func sigtermWithDataInFlightFromManyClients(backend: String) throws {
            for round in 0..<3 {
                let daemon = try Daemon.serving(["--backend", backend, "--shutdown-timeout", "20"])
                let clients = try (0..<20).map { _ in try TestClient(port: daemon.port, timeout: 20) }
                let payloads = (0..<20).map { Payload.random(count: 100 << 10, seed: UInt64(round * 100 + $0)) }
                for (client, payload) in zip(clients, payloads) { try client.send(payload) }  // and do not read yet
                let total = UInt64(payloads.count * payloads[0].count)
                #expect(waitUntil(timeout: 5 * Sanitizer.slowdown) { (try? daemon.stats()["bytes.in"]) == total })

                daemon.send(signal: SIGTERM)
                #expect(daemon.waitForOutput(containing: "stopping", timeout: 5))
                #expect(waitUntil(timeout: 2) { (try? TestClient(port: daemon.port, timeout: 1)) == nil },
                        "new connections are refused once the listener is closed")
                for (index, client) in clients.enumerated() {
                    #expect(mismatch(try client.receiveUntilEOF(), payloads[index]) == nil, "round \(round), client \(index)")
                    client.close()
                }
                #expect(daemon.waitForExit(timeout: 5 * Sanitizer.slowdown) == .exited(0), "round \(round): \(daemon.stderr)")
            }
        }

        /// A client that never reads forces the deadline; one that reads still gets its whole
        /// echo first; exit 0 with the forced close counted.
        @Test func theDeadlineForcesOnlyWhatWillNotDrain() throws {
            let daemon = try Daemon.serving(["--shutdown-timeout", "2", "--output-limit", "65536"])
            let hog = try TestClient(port: daemon.port)
            _ = hog.sendUntilStalled()
            let readBefore = try daemon.stats()["bytes.in"]!  // the hog's, stalled
            let polite = try TestClient(port: daemon.port, timeout: 10)
            let payload = Payload.random(count: 300 << 10, seed: 7)
            let sender = Background { try polite.send(payload) }
            let reader = Background { try polite.receiveUntilEOF() }
            try sender.value(timeout: 10 * Sanitizer.slowdown)
            // The stop echoes what was read; wait until all of it has been.
            let allRead = readBefore + UInt64(payload.count)
            #expect(waitUntil(timeout: 5 * Sanitizer.slowdown) { (try? daemon.stats()["bytes.in"]) == allRead })

            let start = monotonicSeconds()
            daemon.send(signal: SIGTERM)
            #expect(mismatch(try reader.value(timeout: 10 * Sanitizer.slowdown), payload) == nil)
            polite.close()
            #expect(daemon.waitForExit(timeout: 8 * Sanitizer.slowdown) == .exited(0))
            let elapsed = monotonicSeconds() - start
            #expect(elapsed >= 1.9, "exited after \(elapsed) s, before the 2 s deadline, with a client not drained")
            #expect(daemon.stderr.contains("shutdown.forced=1"), "\(daemon.stderr)")
        }

        /// SIGTERM and SIGINT on an idle server exit promptly every time, on every backend: no
        /// lost wake-up. Ten stops in all.
        @Test(arguments: EchoTests.backends)
        func anIdleServerStopsPromptlyEveryTime(backend: String) throws {
            for (round, signal) in [SIGTERM, SIGINT, SIGTERM].enumerated() {
                let daemon = try Daemon.serving(["--backend", backend])
                let start = monotonicSeconds()
                daemon.send(signal: signal)
                #expect(daemon.waitForExit(timeout: 5) == .exited(0), "round \(round)")
                #expect(monotonicSeconds() - start < 1 * Sanitizer.slowdown, "round \(round)")
            }
        }

        /// A bad setting from any source: the documented exit status, one clear line naming the
        /// setting (then the hint to --help), and nothing bound. The port the daemon is given is
        /// held by the test: a daemon that bound before checking everything would exit 69.
        @Test(arguments: [
            ConfigurationCase(flags: ["--backend", "fast"], status: 64, mention: "'--backend'"),
            ConfigurationCase(flags: ["--backend", "kqueue"], status: 64, mention: "'--backend'"),
            ConfigurationCase(flags: ["--backlog", "-1"], status: 64, mention: "'--backlog'"),
            ConfigurationCase(flags: ["--max-connections", "99999999999999999999"], status: 64, mention: "'--max-connections'"),
            ConfigurationCase(flags: ["--output-limit", "1000"], status: 64, mention: "'--output-limit'"),
            ConfigurationCase(flags: ["--write-timeout", "-1"], status: 64, mention: "'--write-timeout'"),
            ConfigurationCase(environment: ["ECHO_BACKEND": "fast"], status: 64, mention: "ECHO_BACKEND"),
            ConfigurationCase(environment: ["ECHO_IDLE_TIMEOUT": "forever"], status: 64, mention: "ECHO_IDLE_TIMEOUT"),
            ConfigurationCase(file: #"{"prot": 7000}"#, status: 78, mention: "prot"),
            ConfigurationCase(file: #"{"backend": "fast"}"#, status: 78, mention: "backend"),
            ConfigurationCase(file: #"{"max-connections": -3}"#, status: 78, mention: "max-connections"),
            ConfigurationCase(file: #"{"port": 7000,"#, status: 78, mention: "JSON"),
        ])
        func aBadSettingExitsNamingItAndBindsNothing(_ example: ConfigurationCase) throws {
            let held = try HeldPort()
            let run = try example.run(after: ["--port", "\(held.port)"])
            #expect(run.termination == .exited(example.status), "stderr: \(run.stderr)")
            let lines = run.stderr.split(separator: "\n")
            #expect(lines.count == 2, "stderr: \(run.stderr)")
            #expect(lines.first?.hasPrefix("Error: ") == true && lines.first?.contains(example.mention) == true,
                    "stderr: \(run.stderr)")
            #expect(lines.last?.contains("--help") == true)
            #expect(!run.stderr.contains("listening on"))
        }

        /// The port in use: exit 69, one line naming the address and the reason.
        @Test func aPortInUseExitsWithOneLine() throws {
            let held = try HeldPort()
            let run = try Daemon.run(["--port", "\(held.port)"])
            #expect(run.termination == .exited(69))
            let lines = run.stderr.split(separator: "\n")
            #expect(lines.count == 1, "stderr: \(run.stderr)")
            #expect(run.stderr.hasPrefix("Error: ") && run.stderr.contains("127.0.0.1:\(held.port)")
                    && run.stderr.contains("Address already in use"), "stderr: \(run.stderr)")
        }

        /// By default the daemon listens on loopback only: from one of this machine's other
        /// addresses the port is closed, while 127.0.0.1 answers.
        @Test(.enabled(if: nonLoopbackAddress() != nil, "needs a non-loopback IPv4 address"))
        func theDefaultBindIsLoopbackOnly() throws {
            let daemon = try Daemon.serving([])
            let client = try TestClient(port: daemon.port)
            #expect(try client.roundTrip([1]))
            client.close()
            let outside = try #require(nonLoopbackAddress())
            #expect(throws: TestClientError.self, "reachable on \(outside)") {
                _ = try TestClient(host: outside, port: daemon.port, timeout: 2)
            }
            daemon.expectDescriptorsAtBaseline()
        }

        /// IPv6 on ::1, several clients, with a sentinel over IPv6 as well.
        @Test(.enabled(if: hasIPv6Loopback, "this machine has no IPv6 loopback"))
        func servesSeveralClientsOnIPv6Loopback() throws {
            let daemon = try Daemon.serving(["--host", "::1"])
            let sentinel = try Sentinel(port: daemon.port, host: "::1")
            for seed in 0..<5 {
                let payload = Payload.random(count: 100_000, seed: UInt64(seed))
                #expect(mismatch(try exchange(payload, port: daemon.port, host: "::1"), payload) == nil)
            }
            #expect((try? TestClient(port: daemon.port, timeout: 1)) == nil, "an IPv6 listener must not answer on 127.0.0.1")
            sentinel.expectUnaffected()
            daemon.expectDescriptorsAtBaseline()
        }
    }
}

/// One bad configuration, from flags, the environment or a file.
struct ConfigurationCase: Sendable, CustomTestStringConvertible {
    var flags: [String] = []
    var environment: [String: String] = [:]
    var file: String?
    var status: Int32
    var mention: String
    var testDescription: String { "\(flags) \(environment) \(file ?? "") → \(status)" }

    /// Runs echo-cli with `arguments`, then this case's flags, file and environment.
    func run(after arguments: [String]) throws -> (termination: Termination, stdout: String, stderr: String) {
        var arguments = arguments + flags
        var path: String?
        if let file {
            path = try temporaryFile(file)
            arguments += ["--config", path!]
        }
        defer { path.map { _ = unlink($0) } }
        return try Daemon.run(arguments, environment: environment)
    }
}

/// One of this machine's IPv4 addresses that is not loopback, or nil.
func nonLoopbackAddress() -> String? {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0 else { return nil }
    defer { freeifaddrs(list) }
    var entry = list
    while let current = entry {
        defer { entry = current.pointee.ifa_next }
        guard let address = current.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
              current.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0,
              current.pointee.ifa_flags & UInt32(IFF_UP) != 0 else { continue }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { var a = $0.pointee.sin_addr; _ = inet_ntop(AF_INET, &a, &text, socklen_t(text.count)) }
        return string(fromCString: text)
    }
    return nil
}

/// A temporary file holding `contents`; the caller unlinks it.
func temporaryFile(_ contents: String) throws -> String {
    var template = Array("/tmp/echo-adversarial-XXXXXX.json".utf8CString)
    let fd = mkstemps(&template, 5)
    guard fd >= 0 else { throw TestClientError("mkstemps failed") }
    _ = contents.utf8CString.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count - 1) }
    close(fd)
    return string(fromCString: template)
}

import Glibc
import Testing

extension WaitingOnDaemons {
    /// Each setting a reload may change takes effect, for new connections at once and for open
    /// ones as README says, while the open ones are never closed by the reload itself; on every
    /// backend.
    @Suite struct ReloadSettingsTests {
        /// A daemon on a free port reading `echo.json` in `scratch`, which starts as `json`.
        final class Reloadable {
            let scratch: TemporaryDirectory
            let daemon: Daemon
            private var reloads = 0

            init(_ json: String, _ arguments: [String]) throws {
                scratch = try TemporaryDirectory()
                try scratch.write("echo.json", json)
                daemon = try Daemon.serving(["--config", scratch.file("echo.json")] + arguments)
            }

            /// Rewrites the file (whose settings replace all the earlier file's: one left out is
            /// back at its default), sends SIGHUP, and waits until the daemon says what it applied.
            func reload(_ json: String, applies expected: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
                try scratch.write("echo.json", json)
                reloads += 1
                daemon.send(signal: SIGHUP)
                let done = daemon.waitForOutput(containing: "reloaded configuration: ", count: reloads,
                                                timeout: 5 * Sanitizer.slowdown)
                #expect(done, "no reload \(reloads) logged:\n\(daemon.stderr)", sourceLocation: sourceLocation)
                let last = daemon.stderr.components(separatedBy: "reloaded configuration: ").last ?? ""
                let applied = last.prefix { $0 != "\n" && $0 != "\"" }
                #expect(applied == expected, "applied \(applied)", sourceLocation: sourceLocation)
            }

            func stat(_ key: String) throws -> UInt64 { try daemon.stats()[key] ?? 0 }
        }

        /// `allow`, `max-connections`, `max-connections-per-ip`: a new connection is refused by
        /// the new policy while one already open is served on.
        @Test(arguments: EchoTests.backends)
        func admissionSettings(backend: String) throws {
            let server = try Reloadable("{}", ["--backend", backend])
            let old = try TestClient(port: server.daemon.port)
            #expect(try old.roundTrip([1]))

            try server.reload(#"{"allow": ["10.0.0.0/8"]}"#, applies: "allow")
            #expect(try TestClient(port: server.daemon.port).outcome(within: 2) == .closed)
            #expect(try server.stat("refused.not_allowed") == 1)
            #expect(try old.roundTrip([2]), "open connections are never closed by a reload")

            try server.reload(#"{"max-connections": 1}"#, applies: "max-connections, allow")
            #expect(try TestClient(port: server.daemon.port).outcome(within: 2) == .closed)
            #expect(try server.stat("refused.max_connections") == 1)

            try server.reload(#"{"max-connections-per-ip": 1}"#, applies: "max-connections, max-connections-per-ip")
            let second = try TestClient(port: server.daemon.port)
            #expect(try second.roundTrip([3]), "per address, the open one was not counted: room for one")
            #expect(try TestClient(port: server.daemon.port).outcome(within: 2) == .closed)
            #expect(try server.stat("refused.per_ip") == 1)
            #expect(try old.roundTrip([4]) && second.roundTrip([5]))
        }

        /// `idle-timeout` turned on counts from the reload for open connections; `keepalive` and
        /// `write-timeout` re-arm the kernel's options on open connections and arm new ones.
        @Test(arguments: EchoTests.backends)
        func timeouts(backend: String) throws {
            let server = try Reloadable("{}", ["--backend", backend])
            let old = try TestClient(port: server.daemon.port)
            #expect(try old.roundTrip([1]))
            try server.reload(#"{"keepalive": 7, "write-timeout": 5}"#, applies: "write-timeout, keepalive")
            let new = try TestClient(port: server.daemon.port)
            #expect(try new.roundTrip([2]))
            if PeerSocketOptions.unavailableReason == nil {
                let options = try PeerSocketOptions.ofConnections(in: server.daemon.pid)
                #expect(options.count == 2 && options.values.allSatisfy {
                    $0 == PeerSocketOptions(keepalive: true, idleSeconds: 7, intervalSeconds: 2, probes: 3,
                                            userTimeoutMilliseconds: 7000)
                }, "\(options)")
            }

            try server.reload(#"{"keepalive": 7, "write-timeout": 5, "idle-timeout": 0.5}"#, applies: "idle-timeout")
            let reloaded = monotonicSeconds()
            #expect(old.outcome(within: 5) == .closed && new.outcome(within: 5) == .closed)
            #expect(monotonicSeconds() - reloaded > 0.4, "timed from the reload, not from their last byte")
            #expect(try server.stat("timeouts.idle") == 2)
        }

        /// `frame-timeout`, `max-message`, `max-reply`, `output-limit`, `shutdown-timeout`, and
        /// the log's level and format, with line framing and a hook.
        @Test(arguments: EchoTests.backends)
        func messageLimits(backend: String) throws {
            let server = try Reloadable("{}", ["--backend", backend, "--framing", "line", "--hook", "upper"])
            try server.reload(#"{"frame-timeout": 0.3}"#, applies: "frame-timeout")
            let partial = try TestClient(port: server.daemon.port)
            try partial.send(Array("no newline".utf8))
            #expect(partial.outcome(within: 5) == .closed)
            #expect(try server.stat("timeouts.frame") == 1)

            try server.reload(#"{"max-message": 8}"#, applies: "max-message, frame-timeout")
            let long = try TestClient(port: server.daemon.port)
            #expect(try long.roundTrip(Array("short\n".utf8)) == false)  // upper-cased: not an echo
            try long.send(Array("far too long a line\n".utf8))
            #expect(try long.receiveUntilClosed().isEmpty)
            #expect(try server.stat("messages.too_large") == 1)

            try server.reload(#"{"max-reply": 4}"#, applies: "max-message, max-reply")
            let reply = try TestClient(port: server.daemon.port)
            try reply.send(Array("abcdef\n".utf8))
            #expect(try reply.receiveUntilClosed().isEmpty)
            #expect(try server.stat("replies.too_large") == 1)

            try server.reload(#"{"log-level": "debug", "log-format": "json", "output-limit": "1KiB", "shutdown-timeout": 0.5}"#,
                              applies: "output-limit, shutdown-timeout, max-reply, log-level, log-format")
            let hog = try TestClient(port: server.daemon.port)
            let lines = [UInt8](String(repeating: "0123456\n", count: 8192).utf8)
            var lastProgress = monotonicSeconds()
            while monotonicSeconds() - lastProgress < 0.5 {  // lines it never reads the replies to
                if hog.sendWithoutBlocking(lines) > 0 { lastProgress = monotonicSeconds() } else { usleep(5000) }
            }
            #expect(server.daemon.waitForOutput(containing: #""message":"output over 1024 bytes: reading paused""#, timeout: 5),
                    "the new output limit, logged at the new level in the new format")
            let stop = monotonicSeconds()
            server.daemon.send(signal: SIGTERM)
            #expect(server.daemon.waitForExit(timeout: 5) == .exited(0))
            #expect(monotonicSeconds() - stop < 2.5, "the 0.5 s shutdown timeout, not the default 5 s")
        }

        /// `udp-rate`: a source's bucket shrinks to the new rate.
        @Test(arguments: EchoTests.backends)
        func udpRate(backend: String) throws {
            let server = try Reloadable("{}", ["--backend", backend, "--udp"])
            try server.reload(#"{"udp-rate": 2}"#, applies: "udp-rate")
            let client = try UDPClient(port: server.daemon.port)
            for n in 0..<10 { try client.send([UInt8(n)]) }
            #expect(client.countReplies(quiet: 0.5) == 2)
            #expect(try server.stat("udp.dropped.rate") == 8)
        }
    }
}

import Glibc
import Synchronization
import Testing

extension WaitingOnDaemons {
    /// The daemon's SIGHUP: the configuration file read again, the flags and environment of the
    /// start on top; applied, refused or kept for a restart, each with its log line; counted;
    /// told to the service manager.
    @Suite struct ReloadDaemonTests {
        /// A daemon started with `--config FILE` holding `json`; `arguments` after it.
        private func started(_ json: String, in scratch: TemporaryDirectory, _ arguments: [String] = [],
                             environment: [String: String] = [:]) throws -> Daemon {
            try scratch.write("echo.json", json)
            return try Daemon.serving(["--config", scratch.file("echo.json")] + arguments, environment: environment)
        }

        /// Sends SIGHUP and waits for the reload's `count`-th outcome line (applied or failed).
        private func hangUp(_ daemon: Daemon, outcomes count: Int = 1) -> Bool {
            daemon.send(signal: SIGHUP)
            return waitUntil(timeout: 5 * Sanitizer.slowdown) {
                let text = daemon.stderr
                return text.components(separatedBy: "reloaded configuration: ").count
                    + text.components(separatedBy: "reload failed").count - 2 >= count
            }
        }

        @Test func aChangedFileIsAppliedAndNamed() throws {
            let scratch = try TemporaryDirectory()
            let daemon = try started(#"{"idle-timeout": 0}"#, in: scratch)
            try scratch.write("echo.json", #"{"idle-timeout": 30, "allow": ["127.0.0.0/8"], "port": 0}"#)
            #expect(hangUp(daemon))
            #expect(daemon.stderr.contains(" notice echo-cli: reloaded configuration: allow, idle-timeout\n"),
                    "stderr:\n\(daemon.stderr)")
            let client = try TestClient(port: daemon.port)
            #expect(try client.roundTrip([4, 2]))
            #expect(try daemon.stats()["reloads"] == 1)
            // Again with nothing new: said so, in the same form.
            #expect(hangUp(daemon, outcomes: 2))
            #expect(daemon.stderr.contains("reloaded configuration: nothing changed"))
            #expect(try daemon.stats()["reloads"] == 2)
        }

        @Test(arguments: [
            (#"{"idle-timeout": "#, "not valid JSON"),
            (#"{"idle-timout": 3}"#, "unknown key 'idle-timout'"),
            (#"{"max-message": "0"}"#, "'max-message'"),
        ])
        func aBadFileChangesNothing(contents: String, problem: String) throws {
            let scratch = try TemporaryDirectory()
            let daemon = try started(#"{"max-message": "1KiB"}"#, in: scratch, ["--framing", "line"])
            try scratch.write("echo.json", contents)
            #expect(hangUp(daemon))
            let errors = daemon.stderr.split(separator: "\n").filter { $0.contains(" error echo-cli: ") }
            #expect(errors.count == 1, "one error line: \(errors)")
            #expect(errors.first?.contains("reload failed") == true && errors.first?.contains(problem) == true
                    && errors.first?.contains(scratch.file("echo.json")) == true, "\(errors)")
            let stats = try daemon.stats()
            #expect(stats["reloads.failed"] == 1 && stats["reloads"] == 0)
            // The last good settings: a 2 KiB line is still over the 1 KiB limit.
            let client = try TestClient(port: daemon.port)
            #expect(try client.roundTrip(Array("short\n".utf8)))
            try client.send([UInt8](repeating: 0x61, count: 2048) + [10])
            #expect(try client.receiveUntilClosed().isEmpty)
        }

        @Test func aRestartOnlySettingIsKeptWithAWarning() throws {
            let scratch = try TemporaryDirectory()
            let daemon = try started(#"{"backend": "epoll", "framing": "raw"}"#, in: scratch)
            try scratch.write("echo.json", #"{"backend": "poll", "framing": "raw"}"#)
            #expect(hangUp(daemon))
            #expect(daemon.stderr.contains(" warning echo-cli: reload: backend changed (epoll -> poll): needs a restart\n"))
            #expect(daemon.stderr.contains("reloaded configuration: nothing changed"))
            let client = try TestClient(port: daemon.port)
            #expect(try client.roundTrip([1]))
        }

        /// The flags and environment of the start still win over the file, as they did then.
        @Test func flagsAndEnvironmentStillLayerOnTop() throws {
            let scratch = try TemporaryDirectory()
            let daemon = try started(#"{"idle-timeout": 1}"#, in: scratch, ["--idle-timeout", "20"],
                                     environment: ["ECHO_MAX_REPLY": "1KiB"])
            try scratch.write("echo.json", #"{"idle-timeout": 2, "max-reply": "2KiB", "slow-hook": 1}"#)
            #expect(hangUp(daemon))
            #expect(daemon.stderr.contains("reloaded configuration: slow-hook\n"), "stderr:\n\(daemon.stderr)")
        }

        /// systemd's Type=notify-reload: RELOADING=1 with the monotonic time first, READY=1 when
        /// done, for a failed reload too.
        @Test func theServiceManagerHearsReloadingThenReady() throws {
            let scratch = try TemporaryDirectory()
            let manager = try NotifyReceiver(address: scratch.file("notify"))
            try scratch.write("echo.json", #"{"idle-timeout": 1}"#)
            let daemon = try Daemon(["--port", "0", "--config", scratch.file("echo.json")],
                                    environment: ["NOTIFY_SOCKET": manager.address])
            _ = try #require(manager.receive(timeout: 10 * Sanitizer.slowdown), "no READY=1; stderr:\n\(daemon.stderr)")
            for (round, contents) in [#"{"idle-timeout": 2}"#, "{"].enumerated() {
                try scratch.write("echo.json", contents)
                var before = timespec()
                clock_gettime(CLOCK_MONOTONIC, &before)
                daemon.send(signal: SIGHUP)
                let reloading = try #require(manager.receive(timeout: 5), "round \(round): no RELOADING=1")
                let lines = reloading.split(separator: "\n")
                #expect(lines.first == "RELOADING=1")
                let usec = try #require(lines.first { $0.hasPrefix("MONOTONIC_USEC=") }.flatMap { UInt64($0.dropFirst(15)) })
                let beforeUsec = UInt64(before.tv_sec) * 1_000_000 + UInt64(before.tv_nsec) / 1000
                #expect(usec >= beforeUsec && usec < beforeUsec + 5_000_000, "CLOCK_MONOTONIC, in µs")
                let ready = try #require(manager.receive(timeout: 5), "round \(round): no READY=1")
                #expect(ready.split(separator: "\n").first == "READY=1")
                #expect(ready.contains(round == 0 ? "STATUS=listening on" : "STATUS=reload failed"))
            }
            daemon.send(signal: SIGTERM)
            #expect(daemon.waitForExit(timeout: 5) == .exited(0))
        }

        /// Clients streaming through ten reloads lose nothing, on every backend: each sends
        /// 64 KiB chunks and checks every echo until the last reload is done.
        @Test(arguments: EchoTests.backends)
        func clientsStreamThroughTenReloads(backend: String) throws {
            let scratch = try TemporaryDirectory()
            let daemon = try started(#"{"idle-timeout": 0}"#, in: scratch, ["--backend", backend])
            let reloadsDone = Atomic<Bool>(false)
            let streams = (0..<4).map { index in
                Background { () throws -> Int in
                    let client = try TestClient(port: daemon.port, timeout: 10)
                    var rounds = 0
                    repeat {
                        let chunk = Payload.random(count: 64 << 10, seed: UInt64(index * 100_000 + rounds))
                        guard try client.roundTrip(chunk) else { throw TestClientError("round \(rounds): wrong bytes") }
                        rounds += 1
                    } while !reloadsDone.load(ordering: .relaxed)
                    return rounds
                }
            }
            for round in 1...10 {
                try scratch.write("echo.json", #"{"idle-timeout": \#(round * 10), "output-limit": "\#(64 * round)KiB"}"#)
                #expect(hangUp(daemon, outcomes: round))
                usleep(20_000)
            }
            reloadsDone.store(true, ordering: .relaxed)
            for stream in streams {
                #expect(try stream.value(timeout: 30) > 1)
            }
            let stats = try daemon.stats()
            #expect(stats["reloads"] == 10 && stats["accepted"] == 4, "\(stats)")
            #expect(stats["errors.other"] == 0 && stats["errors.resets"] == 0 && stats["timeouts.idle"] == 0, "\(stats)")
        }
    }
}

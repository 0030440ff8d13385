import Glibc
import Testing

/// `--pid-file`: written once listening, removed on every exit while it is still ours; a
/// stale file is replaced, one naming a live process refused, an unusable path refused.
@Suite struct PidFileTests {
    // The file is written just after the `listening on` line: tests wait for it.

    @Test func writtenOnceListeningAndRemovedAfterAGracefulStop() throws {
        let scratch = try TemporaryDirectory()
        let daemon = try Daemon.serving(["--pid-file", scratch.file("echo.pid")])
        #expect(scratch.waitForPid(daemon.pid, in: "echo.pid"))
        #expect(scratch.names == ["echo.pid"], "no temporary file left beside it")
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
        #expect(scratch.names.isEmpty)
    }

    /// The immediate stop after a second signal removes it too.
    @Test func removedAfterAnImmediateStop() throws {
        let scratch = try TemporaryDirectory()
        let daemon = try Daemon.serving(["--pid-file", scratch.file("echo.pid"), "--shutdown-timeout", "30",
                                         "--output-limit", "65536"])
        #expect(scratch.waitForPid(daemon.pid, in: "echo.pid"))
        let hog = try TestClient(port: daemon.port)
        _ = hog.sendUntilStalled()
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForOutput(containing: "stopping gracefully", timeout: 5))
        #expect(scratch.names == ["echo.pid"], "still there while draining")
        usleep(300_000)  // sooner, the same signal would be the same stop request
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(128 + SIGTERM))
        #expect(scratch.names.isEmpty)
    }

    /// A file another instance wrote meanwhile is not ours to remove.
    @Test func aFileThatNoLongerHoldsOurPidIsLeftAlone() throws {
        let scratch = try TemporaryDirectory()
        let daemon = try Daemon.serving(["--pid-file", scratch.file("echo.pid")])
        #expect(scratch.waitForPid(daemon.pid, in: "echo.pid"))
        try scratch.write("echo.pid", "1\n")
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
        #expect(scratch.read("echo.pid") == "1\n")
    }

    /// A process that is gone, or text that is no pid: replaced, with a notice.
    @Test(arguments: ["2147483647\n", "not a pid", ""])
    func aStaleFileIsReplaced(contents: String) throws {
        let scratch = try TemporaryDirectory()
        try scratch.write("echo.pid", contents)
        let daemon = try Daemon.serving(["--pid-file", scratch.file("echo.pid")])
        #expect(daemon.stderr.contains("notice echo-cli: replacing stale pid file \(scratch.file("echo.pid"))"))
        #expect(scratch.waitForPid(daemon.pid, in: "echo.pid"))
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 5) == .exited(0))
        #expect(scratch.names.isEmpty)
    }

    /// This test process stands in for a running instance: refused before anything is bound,
    /// and its file is untouched.
    @Test func aFileNamingALiveProcessIsRefused() throws {
        let scratch = try TemporaryDirectory()
        try scratch.write("echo.pid", "\(getpid())\n")
        let run = try Daemon.run(["--port", "0", "--pid-file", scratch.file("echo.pid")])
        #expect(run.termination == .exited(69))
        #expect(run.stderr.hasPrefix("Error: pid file \(scratch.file("echo.pid")) names process \(getpid()),"
            + " which is running"), "stderr: \(run.stderr)")
        #expect(!run.stderr.contains("listening on"))
        #expect(scratch.read("echo.pid") == "\(getpid())\n")
        #expect(scratch.names == ["echo.pid"])
    }

    @Test func aMissingDirectoryIsRefusedBeforeBinding() throws {
        let scratch = try TemporaryDirectory()
        let path = scratch.file("missing/echo.pid")
        let run = try Daemon.run(["--port", "0", "--pid-file", path])
        #expect(run.termination == .exited(73))
        #expect(run.stderr == "Error: cannot create pid file \(path): No such file or directory\n")
    }

    /// A bind that fails after the claim leaves nothing behind: no pid file, no temporary one.
    @Test func aFailedStartLeavesNoFiles() throws {
        let scratch = try TemporaryDirectory()
        let held = try HeldPort()
        let run = try Daemon.run(["--port", "\(held.port)", "--pid-file", scratch.file("echo.pid")])
        #expect(run.termination == .exited(69))
        #expect(scratch.names.isEmpty)
    }
}

extension TemporaryDirectory {
    /// Waits (up to 2 s) until file `name` holds `pid` and a newline, as a pid file does.
    func waitForPid(_ pid: pid_t, in name: String) -> Bool {
        waitUntil(timeout: 2) { self.read(name) == "\(pid)\n" }
    }
}

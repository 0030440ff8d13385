import Foundation
import Glibc
import Testing

/// echo-bench stopped by SIGINT or SIGTERM, as Ctrl-C or `timeout` stops it: every server it
/// started is gone (its whole process group, a child it forked included), what it measured
/// is printed and written, and it exits 128 + the signal.
@Suite struct EchoBenchInterruptTests {
    @Test(arguments: [SIGINT, SIGTERM])
    func anInterruptedSuiteStopsEveryServerAndReports(signal: Int32) throws {
        let folder = try TemporaryDirectory()
        // A server that forks a child of its own first (as a forking server does), then says
        // where it listens; the suite runs it after one finished run of poll.
        let server = "sleep 300 & echo $! > \(folder.file("child")); echo {port} > \(folder.file("port")); "
            + "exec \(Daemon.binaryPath) --host {host} --port {port} --log-level warning"
        let bench = try Daemon([
            "suite", "--backends", "poll", "--hooks", "echo", "--compare", "forking=\(server)",
            "--workload", "conns=2,size=64", "--rounds", "1", "--duration", "0.3", "--warmup", "0",
            "--idle-conns", "0", "--no-pin", "--echo-cli", Daemon.binaryPath, "--logs", folder.path,
            "--json", folder.file("r.json"), "--md", folder.file("r.md"),
        ] + ["--workload", "conns=2,size=1KiB"], program: Daemon.productPath("echo-bench"))

        // The second server of the first workload is up: interrupt the suite in its run.
        var port = 0, child: pid_t = 0
        let started = waitUntil(timeout: 30) {
            port = Int(folder.read("port")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            child = pid_t(folder.read("child")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            return port > 0 && child > 0 && (try? TestClient(port: port, timeout: 1)) != nil
        }
        try #require(started, "the forking server did not start; stderr:\n\(bench.stderr)")
        bench.send(signal: signal)

        let end = bench.waitForExit(timeout: 15)
        #expect(end == .exited(128 + signal), "stderr:\n\(bench.stderr)")
        #expect(!isAlive(child), "the server's child \(child) outlived the suite")
        #expect((try? TestClient(port: port, timeout: 1)) == nil, "something still listens on \(port)")

        let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
        #expect(bench.stdout.contains("**Interrupted by \(name)** after 1 of 4 runs"), "stdout:\n\(bench.stdout)")
        #expect(bench.stdout.contains("| c2 s64 | poll | "), "the finished run is reported")
        #expect(folder.read("r.md") == bench.stdout)
        let json = try #require(folder.read("r.json"))
        let result = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(result["interrupted"] as? String == name)
        #expect((result["runs"] as? [Any])?.count == 1)
    }

    @Test func anInterruptedLoadReportsTheWindowSoFar() throws {
        let daemon = try Daemon.serving([])
        let load = try Daemon(["load", "--port", String(daemon.port), "--conns", "2", "--duration", "60",
                               "--warmup", "0", "--json"], program: Daemon.productPath("echo-bench"))
        // Some round trips in the window: the daemon has served bytes.
        let served = waitUntil(timeout: 20) {
            usleep(100_000)
            return ((try? daemon.stats())?["bytes.in"] ?? 0) > 10_000
        }
        try #require(served, "no load reached the daemon")
        load.send(signal: SIGINT)
        #expect(load.waitForExit(timeout: 15) == .exited(130), "stderr:\n\(load.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(load.stdout.utf8)) as? [String: Any])
        #expect(result["interrupted"] as? String == "SIGINT")
        #expect(try #require(result["round_trips"] as? Int) > 0)
        #expect(try #require(result["measured_s"] as? Double) < 60)
        #expect(result["errors"] as? Int == 0)
    }

    /// Alive and not a zombie waiting for whoever adopted it.
    private func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0, let stat = readText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else {
            return false
        }
        return !stat[stat.index(after: close)...].hasPrefix(" Z")
    }
}

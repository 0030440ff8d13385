import Foundation
import Testing
import cbench

/// echo-bench, run as a user runs it: short smoke runs of each subcommand against the real
/// daemon, with their JSON read back. They assert that the runs happened and checked every
/// reply, never how fast anything was.
@Suite struct EchoBenchTests {
    static let bench = Daemon.productPath("echo-bench")

    /// Runs echo-bench to completion, bounded.
    private func bench(_ arguments: [String], timeout: Double = 60) throws
        -> (status: Termination, stdout: String, stderr: String)
    {
        let run = try Daemon.run(arguments, timeout: timeout, program: Self.bench)
        return (run.termination, run.stdout, run.stderr)
    }

    private func json(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(object as? [String: Any], "not a JSON object: \(text)")
    }

    private func load(_ daemon: Daemon, _ extra: [String]) throws -> (status: Termination, result: [String: Any]) {
        let run = try bench(["load", "--port", String(daemon.port), "--duration", "0.5", "--warmup", "0.1", "--json"] + extra)
        return (run.status, try json(run.stdout))
    }

    @Test(arguments: [
        (daemon: [String](), load: ["--conns", "8"]),
        (daemon: [], load: ["--conns", "4", "--depth", "8", "--size", "100"]),
        (daemon: [], load: ["--conns", "3", "--mode", "stream", "--size", "64KiB", "--window", "256KiB"]),
        (daemon: ["--framing", "line"], load: ["--conns", "4", "--framing", "line", "--size", "300"]),
        (daemon: ["--framing", "length", "--hook", "upper"], load: ["--conns", "4", "--framing", "length", "--expect", "upper"]),
    ])
    func loadVerifiesEveryReply(daemon arguments: [String], load extra: [String]) throws {
        let daemon = try Daemon.serving(arguments)
        let (status, result) = try load(daemon, extra)
        #expect(status == .exited(0))
        let conns = try #require(result["conns"] as? Int)
        #expect(result["ready"] as? Int == conns)
        let roundTrips = try #require(result["round_trips"] as? Int)
        #expect(roundTrips > 0)
        #expect(result["errors"] as? Int == 0)
        #expect(result["verify_errors"] as? Int == 0)
        let latency = try #require(result["latency_us"] as? [String: Any])
        #expect(latency["count"] as? Int == roundTrips)
        #expect(try #require(latency["p50"] as? Double) > 0)
        #expect(try #require(latency["p50"] as? Double) <= latency["max"] as? Double ?? 0)
    }

    @Test func loadCountsWrongRepliesAndExitsOne() throws {
        // The server upper-cases, the load generator expects an echo: every message is wrong.
        let daemon = try Daemon.serving(["--hook", "upper"])
        let (status, result) = try load(daemon, ["--conns", "2", "--size", "64"])
        #expect(status == .exited(1))
        #expect(try #require(result["verify_errors"] as? Int) > 0)
        #expect(try #require(result["mismatched_bytes"] as? Int) > 0)
    }

    @Test func loadAgainstNothingFailsEveryConnect() throws {
        let nobody = try HeldPort(listening: false)
        let run = try bench(["load", "--port", String(nobody.port), "--conns", "5", "--duration", "0.2", "--connect-timeout", "2", "--json"])
        #expect(run.status == .exited(2))
        let result = try json(run.stdout)
        #expect(result["ready"] as? Int == 0)
        #expect(result["connect_failures"] as? Int == 5)
        #expect(result["connect_error"] as? String == "connection refused")
        #expect(run.stderr.contains("no connection to 127.0.0.1:\(nobody.port) got its first echo: connection refused"), "\(run.stderr)")
        // In words: why, and no window of zeros.
        let text = try bench(["load", "--port", String(nobody.port), "--conns", "2", "--connect-timeout", "2"])
        #expect(text.status == .exited(2))
        #expect(text.stdout.contains("none ready, 2 failed: connection refused") && !text.stdout.contains("measured"), "\(text.stdout)")
    }

    /// The text report says what it checked replies against, and writes an IPv6 address as
    /// people do, in brackets before its port.
    @Test func loadSaysWhatItCheckedAndWhere() throws {
        let upper = try Daemon.serving(["--hook", "upper"])
        let checked = try bench(["load", "--port", String(upper.port), "--conns", "2", "--duration", "0.3", "--warmup", "0", "--expect", "upper"])
        #expect(checked.status == .exited(0))
        #expect(checked.stdout.contains("errors        none: every byte came back upper-cased, as expected"), "\(checked.stdout)")
        guard hasIPv6Loopback else {
            print("skipped the IPv6 half: no IPv6 loopback here")
            return
        }
        let daemon = try Daemon.serving(["--host", "::1"])
        let run = try bench(["load", "--host", "::1", "--port", String(daemon.port), "--conns", "2", "--duration", "0.3", "--warmup", "0"])
        #expect(run.status == .exited(0))
        #expect(run.stdout.hasPrefix("echo-bench load [::1]:\(daemon.port): 2 connections"), "\(run.stdout)")
        #expect(run.stdout.contains("errors        none: every byte came back as sent"))
    }

    @Test(arguments: [
        (["load"], "--port"),
        (["load", "--port", "7", "--conns", "0"], "--conns"),
        (["load", "--port", "7", "--size", "12XB"], "--size"),
        (["load", "--port", "7", "--mode", "flood"], "--mode"),
        (["load", "--port", "7", "--bogus"], "--bogus"),
        (["suite", "--compare", "x=true"], "{port}"),
        (["suite", "--backends", "nope"], "--backends"),
        (["suite", "--workload", "conns=ten"], "conns"),
        (["suite", "--baseline", "nobody", "--backends", "poll"], "--baseline"),
        (["frobnicate"], "frobnicate"),
        ([], "Missing subcommand"),
    ])
    func usageErrorsNameWhatIsWrong(arguments: [String], mention: String) throws {
        let run = try bench(arguments)
        #expect(run.status == .exited(64))
        #expect(run.stderr.contains(mention), "stderr: \(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test func microTimesEveryBenchmark() throws {
        let run = try bench(["micro", "--repetitions", "2", "--time", "0.002", "--json"])
        #expect(run.status == .exited(0))
        let benchmarks = try #require(try json(run.stdout)["benchmarks"] as? [[String: Any]])
        let names = benchmarks.compactMap { $0["name"] as? String }
        for piece in ["framing line", "framing length", "buffer", "reply write", "hook call"] {
            #expect(names.contains { $0.contains(piece) }, "no \(piece) benchmark in \(names)")
        }
        for benchmark in benchmarks {
            #expect(try #require(benchmark["ns_per_op_median"] as? Double) > 0)
        }
    }

    @Test func suiteComparesServersAndWritesEveryReport() throws {
        let folder = NSTemporaryDirectory() + "echo-bench-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let other = "\(Daemon.binaryPath) --host {host} --port {port} --backend epoll --log-level warning"
        let run = try bench([
            "suite", "--backends", "poll", "--hooks", "echo,upper", "--compare", "other=\(other)",
            "--workload", "conns=2,size=64", "--workload", "mode=stream,conns=1,size=16KiB",
            "--rounds", "1", "--duration", "0.3", "--warmup", "0.1", "--idle-conns", "50", "--no-pin",
            "--echo-cli", Daemon.binaryPath, "--logs", folder,
            "--md", folder + "/r.md", "--svg", folder + "/r.svg", "--json", folder + "/r.json",
        ], timeout: 120)
        #expect(run.status == .exited(0), "stdout:\n\(run.stdout)\nstderr:\n\(run.stderr)")
        #expect(run.stdout.contains("| workload | poll | poll+upper | other |"))
        #expect(!run.stdout.contains("Problems:"))
        #expect(try String(contentsOfFile: folder + "/r.md", encoding: .utf8) == run.stdout)
        let svg = try String(contentsOfFile: folder + "/r.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.components(separatedBy: "<title>").count - 1 == 6) // 2 workloads × 3 servers

        let result = try json(try String(contentsOfFile: folder + "/r.json", encoding: .utf8))
        let runs = try #require(result["runs"] as? [[String: Any]])
        #expect(runs.count == 6)
        for entry in runs {
            #expect(try #require(entry["round_trips"] as? Int) > 0)
            #expect(entry["errors"] as? Int == 0)
            #expect(entry["server_cpu_percent"] is Double)
        }
        let idle = try #require(result["idle"] as? [[String: Any]])
        #expect(idle.count == 3)
        for entry in idle { #expect(entry["opened"] as? Int == 50) }
    }

    /// The histogram's promise: every reported quantile within 0.8 % above the true value.
    @Test func histogramQuantilesAreWithinTheirPrecision() {
        let histogram = UnsafeMutablePointer<cb_histogram>.allocate(capacity: 1)
        defer { histogram.deallocate() }
        cb_histogram_reset(histogram)
        var generator = SplitMix(seed: 42)
        var values: [UInt64] = []
        for _ in 0..<20_000 {
            let value = generator.next() % 50_000_000
            values.append(value)
            cb_histogram_record(histogram, value)
        }
        values.sort()
        for quantile in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0] {
            let rank = max(1, min(values.count, Int((quantile * Double(values.count)).rounded())))
            let exact = Double(values[rank - 1])
            let reported = Double(cb_histogram_quantile(histogram, quantile))
            #expect(reported >= exact && reported <= exact * 1.008 + 1, "q\(quantile): \(reported) vs \(exact)")
        }
        #expect(cb_histogram_quantile(histogram, 1.0) == values.last)
        for value: UInt64 in [0, 1, 255, 256, 257, 1000, 1 << 20, 1 << 40, UInt64.max] {
            let bucket = cb_histogram_bucket(value)
            #expect(bucket < Int(CB_HIST_BUCKETS))
            #expect(cb_histogram_bucket_upper(bucket) >= value)
        }
    }
}

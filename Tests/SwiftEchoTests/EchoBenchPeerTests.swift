import Foundation
import Glibc
import Testing

/// echo-bench against the servers people compare us with: forking ones measured whole (every
/// process they start, those that exited included), and the peers one `--peers` name away.
@Suite struct EchoBenchPeerTests {
    static let bench = Daemon.productPath("echo-bench")

    private func suite(_ arguments: [String], folder: TemporaryDirectory, environment: [String: String] = [:])
        throws -> (termination: Termination, stdout: String, stderr: String, json: [String: Any]?)
    {
        let run = try Daemon.run(["suite", "--no-pin", "--idle-conns", "0", "--echo-cli", Daemon.binaryPath,
                                  "--logs", folder.path, "--json", folder.file("r.json")] + arguments,
                                 environment: environment, timeout: 120, program: Self.bench)
        let json = folder.read("r.json").flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        return (run.termination, run.stdout, run.stderr, json)
    }

    /// socat forks a child per connection, which execs cat: the listening process does almost
    /// nothing (an accept and a fork per connection, a few per round), while its children copy
    /// every byte twice through a pipe. Measured whole, the server spends more CPU per round
    /// trip than the load generator (about 4× here); measured in part, about 1 % of it. That
    /// ratio holds however busy the machine is, since both are measured the same way in the same
    /// window. Against the whole machine (/proc/stat less the load generator and the other
    /// processes), what "others" misses on a shared machine (processes that start and end inside
    /// a window: the suites running beside this one) lowers the ratio, by half in CI: one round
    /// of five between 0.3 and 1.5 is asked, which a server counted twice or in part misses.
    @Test(.enabled(if: Tool.runs("socat"), "socat is not installed (Debian package socat; .ci/run installs it)"),
          arguments: ["tree", "cgroup"])
    func aForkingServerIsMeasuredWhole(accounting: String) throws {
        _ = try #require(Tool.path("socat"), "SWIFTECHO_REQUIRE_TOOLS is set, but socat is missing")
        if accounting == "cgroup", getuid() != 0 {
            print("skipped: a cgroup per server needs root or a delegated cgroup v2 subtree (CI runs as root)")
            return
        }
        let folder = try TemporaryDirectory()
        let run = try suite([
            // socat's own listen backlog is 5: the other connections of a round would wait on
            // SYN retries, past the 10 s connect bound on a loaded machine.
            "--backends", "none", "--compare", "socat=socat TCP-LISTEN:{port},bind={host},reuseaddr,fork,backlog=64 EXEC:cat",
            "--workload", "conns=8,size=1KiB", "--rounds", "5", "--duration", "1", "--warmup", "0.2",
            "--accounting", accounting,
        ], folder: folder)
        if accounting == "cgroup", run.termination == .exited(2), run.stderr.contains("cannot make a cgroup v2 per server here") {
            print("skipped: this machine lets no process make cgroups (cgroup v2 not mounted, or read-only)")
            return
        }
        #expect(run.termination == .exited(0), "stdout:\n\(run.stdout)\nstderr:\n\(run.stderr)")
        let runs = try #require(run.json?["runs"] as? [[String: Any]])
        #expect(runs.count == 5)
        var agreements: [Double] = [], busiest = 0.0
        for entry in runs {
            let perRoundTrip = try #require(entry["server_cpu_us_per_round_trip"] as? Double)
            #expect(perRoundTrip > 0)
            let server = try #require(entry["server_cpu_percent"] as? Double)
            let machine = try #require(entry["machine_cpu_percent"] as? Double)
            let loadGenerator = try #require(entry["loadgen_cpu_percent"] as? Double)
            let others = try #require(entry["other_processes_cpu_percent"] as? Double)
            #expect(server > loadGenerator / 2, "server CPU \(server) % against the load generator's \(loadGenerator) %")
            agreements.append(server / (machine - loadGenerator - others))
            busiest = max(busiest, others)
        }
        #expect(agreements.contains { (0.3...1.5).contains($0) },
                "server CPU ÷ (machine − load generator − others) per round: \(agreements); others up to \(busiest) %")
        #expect(!run.stdout.contains("cannot measure"))
    }

    /// Each peer whose program is here (all of them in CI: .ci/run installs socat and xinetd).
    @Test func peersByNameRunBesideOurs() throws {
        let peers = ["socat": "socat", "xinetd": "xinetd", "asyncio": "python3"]
        let wanted = ["socat", "xinetd", "asyncio"].filter { Tool.runs(peers[$0]!) }
        if wanted.count < 3 { print("not installed here, not run: \(Set(peers.keys).subtracting(wanted).sorted())") }
        try #require(!wanted.isEmpty, "none of socat, xinetd and python3 is installed")
        for name in wanted { _ = try #require(Tool.path(peers[name]!), "SWIFTECHO_REQUIRE_TOOLS is set, but \(name) is missing") }
        let folder = try TemporaryDirectory()
        let run = try suite(["--backends", "poll", "--hooks", "echo", "--peers", wanted.joined(separator: ","),
                             "--workload", "conns=3,size=1KiB", "--rounds", "1", "--duration", "0.3", "--warmup", "0.1"],
                            folder: folder)
        #expect(run.termination == .exited(0), "stdout:\n\(run.stdout)\nstderr:\n\(run.stderr)")
        #expect(run.stdout.contains("| workload | poll | \(wanted.joined(separator: " | ")) |"))
        let runs = try #require(run.json?["runs"] as? [[String: Any]])
        for entry in runs {
            #expect(entry["errors"] as? Int == 0 && (entry["round_trips"] as? Int ?? 0) > 0, "\(entry)")
            #expect((entry["server_cpu_us_per_round_trip"] as? Double ?? 0) > 0, "\(entry)")
        }
    }

    @Test func aPeerThatIsNotInstalledIsNamed() throws {
        let folder = try TemporaryDirectory()
        let run = try suite(["--peers", "socat"], folder: folder, environment: ["PATH": folder.path])
        #expect(run.termination == .exited(64))
        #expect(run.stderr.contains("--peers socat: socat is not installed"), "\(run.stderr)")
        let unknown = try suite(["--peers", "nginx"], folder: folder)
        #expect(unknown.termination == .exited(64))
        #expect(unknown.stderr.contains("'nginx'") && unknown.stderr.contains("socat, xinetd, asyncio"), "\(unknown.stderr)")
    }
}

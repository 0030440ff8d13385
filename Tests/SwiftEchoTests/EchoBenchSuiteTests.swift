import Foundation
import Glibc
import Testing
import SwiftEcho

/// `echo-bench suite` as a person runs it: presets of a known size, a line per step on stderr
/// when it is not a terminal, and a healthy build exits 0 even where a backend cannot serve a
/// workload by design.
@Suite struct EchoBenchSuiteTests {
    static let bench = Daemon.productPath("echo-bench")
    /// The echo-cli backends of this platform, as the suite lists them by default.
    static let backends = Backend.available.subtracting([.auto]).count

    /// Each preset's first line says what it will run and about how long it takes; then the
    /// suite is interrupted, so none of them runs whole here.
    @Test(arguments: [
        ([], "\(backends + 1) servers, 5 workloads, 3 rounds"),
        (["--quick"], "\(backends + 1) servers, 3 workloads, 1 round:"),
        (["--full"], "\(2 * backends) servers, 10 workloads, 3 rounds"),
        (["--full", "--rounds", "1", "--hooks", "echo"], "\(backends) servers, 10 workloads, 1 round:"),
    ])
    func presetsSayWhatTheyRun(arguments: [String], announced: String) throws {
        let folder = try TemporaryDirectory()
        let suite = try Daemon(["suite", "--echo-cli", Daemon.binaryPath, "--logs", folder.path, "--no-pin"] + arguments,
                               program: Self.bench)
        let said = suite.waitForOutput(containing: "echo-bench suite: ", timeout: 20)
        suite.send(signal: SIGINT)
        #expect(suite.waitForExit(timeout: 15) == .exited(130))
        try #require(said, "stderr: \(suite.stderr)")
        let line = try #require(suite.stderr.split(separator: "\n").first { $0.hasPrefix("echo-bench suite: ") })
        #expect(line.contains(announced), "\(line)")
        if arguments.isEmpty {
            // The default is meant to take about 3 minutes here.
            let minutes = try #require(Int(line.split(separator: " ").dropLast().last ?? ""), "\(line)")
            #expect(line.hasSuffix(" min") && minutes <= 3, "\(line)")
        }
    }

    /// On a terminal the live line names the step in progress: the idle memory phase is not
    /// shown under the label of the last load run.
    @Test(.enabled(if: Tool.runs("script"), "script (util-linux) is not installed"))
    func theLiveLineNamesTheIdlePhase() throws {
        let script = try #require(Tool.path("script"), "SWIFTECHO_REQUIRE_TOOLS is set, but script is missing")
        let folder = try TemporaryDirectory()
        let command = [Self.bench, "suite", "--backends", "poll", "--hooks", "echo", "--workload", "conns=2,size=64",
                       "--rounds", "1", "--duration", "0.2", "--warmup", "0", "--idle-conns", "100", "--no-pin",
                       "--echo-cli", Daemon.binaryPath, "--logs", folder.path].map(\.shellQuoted).joined(separator: " ")
        // script gives echo-bench a terminal for stderr and copies what it shows to stdout.
        let run = try Daemon.run(["-qec", command + " >/dev/null", "/dev/null"], timeout: 60, program: script)
        #expect(run.termination == .exited(0), "\(run.stdout)")
        #expect(run.stdout.contains("\u{1B}[2K[1/1] c2 s64, poll, round 1: measuring"), "\(run.stdout)")
        #expect(run.stdout.contains("\u{1B}[2K[idle 1/1] poll, 100 connections: opening"), "\(run.stdout)")
        #expect(!run.stdout.contains("round 1: idle") && !run.stdout.contains("round 1: opening"), "\(run.stdout)")
    }

    @Test func twoPresetsAreAUsageError() throws {
        let run = try Daemon.run(["suite", "--quick", "--full"], program: Self.bench)
        #expect(run.termination == .exited(64))
        #expect(run.stderr.contains("'--quick' and '--full'"))
    }

    /// select cannot hold 1000 connections (FD_SETSIZE): that cell says so, is not run, and is
    /// not a problem; every step is logged on stderr, which is not a terminal here.
    @Test func selectPastFDSetSizeIsNotApplicableAndTheRunIsClean() throws {
        let folder = try TemporaryDirectory()
        let run = try Daemon.run([
            "suite", "--backends", "select,poll", "--hooks", "echo", "--workload", "conns=1000,size=64",
            "--workload", "conns=2,size=64", "--rounds", "1", "--duration", "0.2", "--warmup", "0",
            "--idle-conns", "1000", "--no-pin", "--echo-cli", Daemon.binaryPath, "--logs", folder.path,
        ], timeout: 120, program: Self.bench)
        #expect(run.termination == .exited(0), "stdout:\n\(run.stdout)\nstderr:\n\(run.stderr)")
        #expect(run.stdout.contains("| c1000 s64 | n/a (FD_SETSIZE) | "))
        #expect(run.stdout.contains("| select | n/a (FD_SETSIZE) |"), "idle memory at 1000 + 1 connections")
        #expect(!run.stdout.contains("Problems:"))

        let lines = run.stderr.split(separator: "\n")
        #expect(lines.first?.hasPrefix("echo-bench suite: 2 servers, 2 workloads, 1 round: 3 runs") == true, "\(run.stderr)")
        for (step, name) in ["c1000 s64, poll", "c2 s64, select", "c2 s64, poll"].enumerated() {
            #expect(lines.contains { $0.hasPrefix("[\(step + 1)/3] \(name), round 1: ") && $0.contains(" round trips/s") },
                    "no line for step \(step + 1): \(run.stderr)")
        }
        #expect(lines.contains { $0.hasPrefix("[idle 1/1] poll, 1000 connections: ") && $0.hasSuffix(" bytes each") })
        #expect(!run.stderr.contains("\u{1B}["), "no terminal codes when stderr is not a terminal")
    }
}

extension String {
    /// The text as one shell word.
    fileprivate var shellQuoted: String { "'" + replacing("'", with: "'\\''") + "'" }
}

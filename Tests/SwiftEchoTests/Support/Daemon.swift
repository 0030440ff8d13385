import Foundation
import Glibc
import Testing
@testable import SwiftEcho

/// How a child process ended.
enum Termination: Equatable {
    case exited(Int32)
    case signaled(Int32)
}

/// The built `echo-cli` binary, run as a child process the way an operator runs it. Output
/// is collected in the background; every wait is bounded; the child is killed if a test
/// leaves it running.
final class Daemon: @unchecked Sendable {
    let pid: pid_t
    /// The port of the first `listening on` line (0 when that one is a Unix socket).
    private(set) var port = 0
    /// Every address of the `listening on` lines, as logged: `127.0.0.1:41234`, `unix:/tmp/s`.
    private(set) var listeningAddresses: [String] = []
    /// Open descriptors once listening: the count every end-to-end test returns to.
    private(set) var baselineDescriptors = -1
    /// Whether the program stops the processes it started when it gets SIGTERM (echo-bench).
    private let stopsWhatItStarted: Bool
    private let stderrBuffer = OutputBuffer()
    private let stdoutBuffer = OutputBuffer()
    private let readersDone = DispatchGroup()
    private var termination: Termination?

    /// The echo-cli next to the test bundle (both are build products of the same build).
    static var binaryPath: String { productPath("echo-cli") }

    /// A program the package builds, next to the test bundle.
    static func productPath(_ name: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        let dir = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return dir + "/" + name
    }

    /// Starts `echo-cli ARGUMENTS`. `shellPrefix`, when given, is bash run first in the same
    /// process (e.g. `ulimit -n 64`), which then execs the daemon. SIGPIPE and every other
    /// signal start at their default disposition, whatever the test runner does with them.
    /// `passing` descriptors become the child's 3, 4, … as a service manager passes sockets
    /// (they must not already be numbered 3 and up, which the test process's own take first).
    init(_ arguments: [String], environment: [String: String] = [:], shellPrefix: String? = nil,
         passing descriptors: [Int32] = [], program: String = Daemon.binaryPath) throws {
        var argv: [String]
        if let shellPrefix {
            argv = ["/bin/bash", "-c", shellPrefix + "\nexec \"$0\" \"$@\"", program] + arguments
        } else {
            argv = [program] + arguments
        }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ECHO_") }
        env.merge(environment) { $1 }
        // Under ThreadSanitizer a process sleeps a second at exit before reporting; the
        // shutdown tests time the exit, so skip that sleep.
        env["TSAN_OPTIONS"] = ((env["TSAN_OPTIONS"].map { $0 + " " }) ?? "") + "atexit_sleep_ms=0"
        let envp = env.map { "\($0.key)=\($0.value)" }

        // Socket pairs rather than pipes: they can be made close-on-exec atomically, so a
        // daemon spawned by a parallel test never inherits (and holds open) our ends.
        var errPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0]
        let kind = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, kind, 0, &errPipe) == 0, socketpair(AF_UNIX, kind, 0, &outPipe) == 0 else {
            throw TestClientError("socketpair failed")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for (index, fd) in descriptors.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, fd, 3 + Int32(index))  // dup2 clears close-on-exec
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var child: pid_t = 0
        let rc = withCStrings(argv) { cargv in
            withCStrings(envp) { cenv in posix_spawn(&child, argv[0], &actions, &attributes, cargv, cenv) }
        }
        close(errPipe[1])
        close(outPipe[1])
        guard rc == 0 else {
            close(errPipe[0])
            close(outPipe[0])
            throw TestClientError("posix_spawn(\(argv[0])): \(String(cString: strerror(rc)))")
        }
        pid = child
        stopsWhatItStarted = program.hasSuffix("/echo-bench")
        collect(errPipe[0], into: stderrBuffer)
        collect(outPipe[0], into: stdoutBuffer)
    }

    /// Kills the daemon if the test left it running, then fails the test if the daemon's
    /// stderr holds a sanitizer report (the daemon is built with the tests' sanitizer).
    deinit {
        if termination == nil {
            // echo-bench runs its servers in process groups of their own: asked to stop, it
            // stops them; killed, it would leave them running.
            if stopsWhatItStarted {
                kill(pid, SIGTERM)
                _ = waitForExit(timeout: 5)
            }
            if termination == nil {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
        _ = readersDone.wait(timeout: .now() + 2)
        let text = stderr
        if text.contains("Sanitizer") || text.contains("runtime error:") {
            Issue.record("echo-cli reported a sanitizer error:\n\(text)")
        }
    }

    /// Starts the daemon on a free port (`--port 0`), or on each of `listen` (`--listen`, then
    /// no `--port`), and waits for a `listening on` line per address; `port` is then the real
    /// port of the first, and `listeningAddresses` holds them all. A daemon that ends first
    /// fails at once with how it ended; the bound is generous because a CI host running every
    /// suite at once has been seen to stall a start for seconds.
    static func serving(_ arguments: [String], listen: [String] = [], environment: [String: String] = [:],
                        shellPrefix: String? = nil, passing descriptors: [Int32] = [],
                        timeout: Double = 20) throws -> Daemon {
        let addressArguments = listen.isEmpty ? ["--port", "0"] : listen.flatMap { ["--listen", $0] }
        return try started(addressArguments + arguments, listeners: max(1, listen.count),
                           environment: environment, shellPrefix: shellPrefix, passing: descriptors,
                           timeout: timeout)
    }

    /// Starts `echo-cli ARGUMENTS` as they are (or `program`, which execs it: `ip netns exec`)
    /// and waits for `listeners` `listening on` lines.
    static func started(_ arguments: [String], listeners: Int, environment: [String: String] = [:],
                        shellPrefix: String? = nil, passing descriptors: [Int32] = [],
                        timeout: Double = 20, program: String = Daemon.binaryPath) throws -> Daemon {
        let daemon = try Daemon(arguments, environment: environment, shellPrefix: shellPrefix, passing: descriptors,
                                program: program)
        var ended: Termination?
        let listening = waitUntil(timeout: timeout) {
            ended = daemon.endedIfItHas()
            return ended != nil || daemon.stderr.components(separatedBy: "listening on").count - 1 >= listeners
        }
        if let ended {
            _ = daemon.readersDone.wait(timeout: .now() + 2)
            throw TestClientError("\(program) ended (\(ended)) before listening; stderr:\n\(daemon.stderr)")
        }
        guard listening else {
            throw TestClientError("not \(listeners) 'listening on' line(s) within \(timeout) s (\(daemon.whereItIs)); "
                                  + "stderr:\n\(daemon.stderr)")
        }
        daemon.listeningAddresses = daemon.stderr.split(separator: "\n").filter { $0.contains("listening on") }.map {
            String($0.split(separator: "listening on ")[1].split(separator: ",")[0])
        }
        let first = daemon.listeningAddresses[0]
        daemon.port = first.hasPrefix("unix:") ? 0 : Int(first.split(separator: ":").last ?? "") ?? 0
        daemon.baselineDescriptors = daemon.probe.openDescriptors
        return daemon
    }

    /// Runs echo-cli (or another `program`) to completion within `timeout`.
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 10,
                    program: String = Daemon.binaryPath) throws
        -> (termination: Termination, stdout: String, stderr: String)
    {
        let daemon = try Daemon(arguments, environment: environment, program: program)
        guard let end = daemon.waitForExit(timeout: timeout) else {
            throw TestClientError("\(program) \(arguments) still running after \(timeout) s")
        }
        return (end, daemon.stdout, daemon.stderr)  // waitForExit waited for the last of stderr
    }

    var stderr: String { stderrBuffer.text }
    var stdout: String { stdoutBuffer.text }
    var probe: ProcessProbe { ProcessProbe(pid: pid) }

    func send(signal: Int32) { kill(pid, signal) }

    /// Waits until stderr contains `text` `count` times or more.
    func waitForOutput(containing text: String, count: Int = 1, timeout: Double) -> Bool {
        waitUntil(timeout: timeout) { self.stderr.components(separatedBy: text).count - 1 >= count }
    }

    /// Waits for the process to end; nil if it is still running after `timeout`.
    func waitForExit(timeout: Double) -> Termination? {
        var end: Termination?
        guard waitUntil(timeout: timeout, { end = endedIfItHas(); return end != nil }) else { return nil }
        // The pipes close with the process: wait for their last lines (the exit stats line)
        // so that what follows sees the whole of stderr.
        _ = readersDone.wait(timeout: .now() + 2)
        return end
    }

    /// How the process ended, reaping it if it just has; nil while it runs.
    private func endedIfItHas() -> Termination? {
        if let termination { return termination }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        let end: Termination = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
        termination = end
        return end
    }

    /// Where a process that should have answered by now is: its state and, per thread, the
    /// kernel function it waits in (for a failure message).
    private var whereItIs: String {
        let state = (readText("/proc/\(pid)/stat") ?? "").split(separator: " ").dropFirst(2).first ?? "?"
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        let waits = threads.sorted().map { readText("/proc/\(pid)/task/\($0)/wchan") ?? "?" }
        return "state \(state), threads waiting in \(waits.joined(separator: ", "))"
    }

    /// Expects the open descriptors back at the baseline within `seconds` (two by default): the
    /// test's connections are all closed by then, and the server must have closed its ends.
    func expectDescriptorsAtBaseline(within seconds: Double = 2, sourceLocation: SourceLocation = #_sourceLocation) {
        let back = descriptorsBackAtBaseline(within: seconds)
        #expect(back, "descriptors: \(probe.openDescriptors), baseline \(baselineDescriptors)",
                sourceLocation: sourceLocation)
    }

    /// Whether the open descriptors are back at the baseline within `seconds` (waiting, for an
    /// async test to call off the cooperative pool).
    func descriptorsBackAtBaseline(within seconds: Double) -> Bool {
        waitUntil(timeout: seconds) { self.probe.openDescriptors == self.baselineDescriptors }
    }

    /// The counters, from the `stats` line SIGUSR1 makes the daemon log.
    func stats(timeout: Double = 5) throws -> [String: UInt64] {
        let before = stderr.components(separatedBy: " stats").count - 1
        send(signal: SIGUSR1)
        guard waitForOutput(containing: " stats", count: before + 1, timeout: timeout) else {
            throw TestClientError("no stats line within \(timeout) s; stderr:\n\(stderr)")
        }
        let line = stderr.split(separator: "\n").last { $0.hasSuffix(" stats") }!
        var result: [String: UInt64] = [:]
        for token in line.split(separator: " ") {
            let pair = token.split(separator: "=", maxSplits: 1)
            if pair.count == 2, let value = UInt64(pair[1]) { result[String(pair[0])] = value }
        }
        return result
    }

    private func collect(_ fd: Int32, into buffer: OutputBuffer) {
        readersDone.enter()
        let done = readersDone
        Thread.detachNewThread {
            var chunk = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n > 0 {
                    buffer.append(chunk[0..<n])
                } else if n == -1 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            close(fd)
            done.leave()
        }
    }
}

/// What a child wrote to one of its streams so far.
final class OutputBuffer: Sendable {
    private let bytes = Locked<[UInt8]>([])
    func append(_ more: ArraySlice<UInt8>) { bytes.withLock { $0 += more } }
    var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// Polls `condition` every 10 ms until it holds or `timeout` seconds pass.
@discardableResult
func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicSeconds() + timeout
    while true {
        if condition() { return true }
        if monotonicSeconds() >= deadline { return false }
        usleep(10_000)
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs `body` with `strings` as a NULL-terminated C array.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var pointers = strings.map { strdup($0) }
    pointers.append(nil)
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}

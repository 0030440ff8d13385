import Foundation

/// Outside programs the tests drive (promtool, haproxy). A test that needs one is skipped,
/// saying so, where it is not installed, except when `SWIFTECHO_REQUIRE_TOOLS=1` (`.ci/run`
/// sets it, after installing them all): there a missing tool fails the test instead of
/// hiding it.
enum Tool {
    /// Whether a test needing `name` runs here: it is installed, or it is required.
    static func runs(_ name: String) -> Bool {
        path(name) != nil || ProcessInfo.processInfo.environment["SWIFTECHO_REQUIRE_TOOLS"] == "1"
    }

    /// Where `name` is: the first executable of that name on PATH, or in /usr/sbin and /sbin
    /// (Debian puts daemons such as haproxy there, outside a normal user's PATH).
    static func path(_ name: String) -> String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/sbin", "/sbin"]
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `path ARGUMENTS` with `input` on its standard input, within `timeout` seconds (then
    /// it is killed and this throws); its status and what it wrote to stdout and stderr. (Spawned
    /// like the daemons the tests run: Foundation's Process leaks under LeakSanitizer.)
    static func run(_ path: String, _ arguments: [String], input: String = "", timeout: Double = 30) throws
        -> (status: Int32, output: String)
    {
        let directory = try TemporaryDirectory()
        let inputPath = directory.file("input")
        guard FileManager.default.createFile(atPath: inputPath, contents: Data(input.utf8)) else {
            throw TestClientError("cannot write \(inputPath)")
        }
        // bash only to give the tool its input: `exec` leaves the tool in the spawned process.
        let run = try Daemon.run(["-c", "exec \"$@\" < \"$0\"", inputPath, path] + arguments, timeout: timeout,
                                 program: "/bin/bash")
        guard case .exited(let status) = run.termination else {
            throw TestClientError("\(path) \(arguments) ended by \(run.termination): \(run.stderr)")
        }
        return (status, run.stdout + run.stderr)
    }
}

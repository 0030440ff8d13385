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
    /// it is killed and this throws); its status and what it wrote to stdout and stderr.
    static func run(_ path: String, _ arguments: [String], input: String = "", timeout: Double = 30) throws
        -> (status: Int32, output: String)
    {
        let directory = try TemporaryDirectory()
        let inputPath = directory.path + "/input", outputPath = directory.path + "/output"
        _ = FileManager.default.createFile(atPath: inputPath, contents: Data(input.utf8))
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inputPath))
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardOutput = output
        process.standardError = output
        try process.run()
        guard waitUntil(timeout: timeout, { !process.isRunning }) else {
            process.terminate()
            process.waitUntilExit()
            throw TestClientError("\(path) \(arguments) still running after \(timeout) s")
        }
        try output.close()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return (process.terminationStatus, text)
    }
}

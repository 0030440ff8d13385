/// `echo-bench load`: one workload against any TCP echo server.
enum LoadCommand {
    static let spec = CommandSpec(
        name: "load",
        abstract: "Put a load on any TCP echo server and report throughput, latency and errors.",
        options: [
            .value("host", "address", "The server's address (default 127.0.0.1)."),
            .value("port", "port", "The server's port (required)."),
            .value("conns", "count", "Concurrent connections, 1 to 100000 (default 100)."),
            .value("size", "bytes", "Payload bytes per message, e.g. 64, 1024, 64KiB (default 1024)."),
            .value("depth", "count", "Ping-pong: messages in flight per connection (default 1)."),
            .value("mode", "mode", "pingpong (wait for each echo) or stream (keep --window bytes in flight)."),
            .value("window", "bytes", "Stream: bytes in flight per connection (default 4 messages)."),
            .value("framing", "framing", "raw, line (payload + \\n) or length (4-byte big-endian length + payload)."),
            .value("expect", "reply", "echo (default), or upper: send lower-case letters, expect them upper-cased."),
            .value("duration", "seconds", "Measured seconds (default 5)."),
            .value("warmup", "seconds", "Unmeasured seconds before the window (default 1)."),
            .value("connect-timeout", "seconds", "Time for every connection to get its first echo (default 10)."),
            .value("connect-concurrency", "count", "Connects in progress at once; 0 = all at once (default 0)."),
            .value("drain", "seconds", "After the window, time to wait for echoes in flight (default 2)."),
            .value("seed", "number", "Seed of the payload pattern (default 1)."),
            .value("server-pid", "pid", "Also report the CPU use of this process and every process below it (Linux)."),
            .flag("json", "Print the result as one JSON object."),
        ],
        discussion: """
            Every reply is compared byte for byte with what was sent; a wrong, missing or extra byte \
            is counted and reported. Exit status: 0 for a clean run, 1 when errors were counted, \
            2 when the run could not start or no connection got ready, 64 for a usage error.
            """
    )

    static func run(_ options: ParsedOptions) throws(UsageError) -> ExitStatus {
        guard options.string("port") != nil else { throw UsageError("Missing option '--port <port>'.") }
        let workload = try workload(from: options)
        let host = options.string("host") ?? "127.0.0.1"
        let port = try options.integer("port", default: 0, in: 1...65535)
        var server: ServerUsage?
        if options.string("server-pid") != nil {
            server = ProcessTreeUsage(root: Int32(try options.integer("server-pid", default: 0, in: 1...Int(Int32.max))))
        }
        let report: LoadReport
        Interrupt.catchSignals()
        do {
            report = try LoadRun.run(workload, host: host, port: port, server: server,
                                     progress: ProgressLine(label: ""))
        } catch {
            StandardError.line("echo-bench: \(error.message)")
            return .failed
        }
        print(options.flag("json") ? report.json(host: host, port: port).text : report.text(host: host, port: port))
        if let signal = report.interrupted { return .interrupted(by: signal) }
        if report.ready == 0 {
            StandardError.line("echo-bench: no connection to \(endpoint(host, port)) got its first echo: \(report.whyNoneReady)")
            return .failed
        }
        return report.errors > 0 ? .errorsCounted : .success
    }

    /// The workload options, shared with `suite` where they apply.
    static func workload(from options: ParsedOptions) throws(UsageError) -> Workload {
        var workload = Workload()
        workload.conns = try options.integer("conns", default: workload.conns, in: 1...100_000)
        workload.size = try options.bytes("size", default: workload.size, in: 1...(16 << 20))
        workload.depth = try options.integer("depth", default: workload.depth, in: 1...4096)
        workload.mode = try options.choice("mode", default: .pingpong, [("pingpong", .pingpong), ("stream", .stream)])
        if options.string("window") != nil {
            workload.window = try options.bytes("window", default: 0, in: 1...(256 << 20))
        }
        workload.framing = try options.choice("framing", default: .raw, [("raw", .raw), ("line", .line), ("length", .length)])
        workload.expectation = try options.choice("expect", default: .echo, [("echo", .echo), ("upper", .upper)])
        workload.duration = try options.seconds("duration", default: workload.duration, in: 0.1...86400)
        workload.warmup = try options.seconds("warmup", default: workload.warmup, in: 0...3600)
        workload.connectTimeout = try options.seconds("connect-timeout", default: workload.connectTimeout, in: 0.1...3600)
        workload.connectConcurrency = try options.integer("connect-concurrency", default: 0, in: 0...100_000)
        workload.drain = try options.seconds("drain", default: workload.drain, in: 0...3600)
        workload.seed = UInt64(try options.integer("seed", default: 1, in: 0...Int.max))
        return workload
    }
}

import SwiftEcho
import cbench
import cecho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `echo-bench suite`: echo-cli per backend and hook, and any other server, side by side.
enum SuiteCommand {
    static let spec = CommandSpec(
        name: "suite",
        abstract: "Start echo-cli per backend and hook (and other servers), run a workload matrix, print a table.",
        options: [
            .flag("quick", "A look in about 15 seconds: fewer workloads, one short round."),
            .flag("full", "The matrix RESULTS.md publishes: about 17 minutes on 2 cores."),
            .value("backends", "list", "Comma-separated echo-cli backends (default: every one of this platform); none: only --peers and --compare."),
            .value("hooks", "list", "Comma-separated echo-cli hooks, each on every backend: echo, upper, async-upper (upper as an async hook), delay:MS (an async echo after MS milliseconds) (default: echo on every backend, upper on the default one; --full: both on every backend)."),
            .value("peers", "list", "Other echo servers by name: \(Peer.allCases.map(\.rawValue).joined(separator: ", ")), or installed (those of them installed here)."),
            .repeated("compare", "name=command", "Another server: a shell command with {port} (and optionally {host}, {logs})."),
            .repeated("workload", "spec", "KEY=VALUE,... with mode, conns, size, depth, window, framing (default: the preset's, below)."),
            .value("idle-conns", "count", "Idle connections for the memory measurement; 0 skips it (default 10000; --quick 1000)."),
            .value("rounds", "count", "Rounds per workload and server, interleaved (default 3; --quick 1)."),
            .value("duration", "seconds", "Measured seconds per run (default 1.5; --quick 0.5, --full 3)."),
            .value("warmup", "seconds", "Warm-up seconds per run (default 0.5; --quick 0.2, --full 1)."),
            .value("baseline", "name", "The server the ratios are to (default: the default backend's echo, else the first server)."),
            .value("echo-cli", "path", "The echo-cli binary (default: the one next to echo-bench)."),
            .value("host", "address", "Where the servers listen (default 127.0.0.1)."),
            .value("server-cpu", "cpu", "CPU for the servers (default 0)."),
            .value("loadgen-cpu", "cpu", "CPU for the load generator (default 1)."),
            .flag("no-pin", "Do not pin the servers and the load generator to CPUs."),
            .value("accounting", "how", "How servers' CPU and memory are read: cgroup (one cgroup v2 each), tree (their process trees in /proc) or auto: cgroup where allowed (default)."),
            .value("md", "file", "Also write the markdown report to this file."),
            .value("json", "file", "Write every run's raw results to this file."),
            .value("svg", "file", "Draw the throughput table as a bar chart (SVG)."),
            .value("logs", "folder", "Where server stderr goes (default /tmp/echo-bench-logs)."),
        ],
        discussion: """
            Presets (each option above replaces its part):
              default  \(SuitePreset.standard.summary). About 3 minutes on 2 cores.
              --quick  \(SuitePreset.quick.summary). About 15 seconds.
              --full   \(SuitePreset.full.summary). About 17 minutes.
            Each run starts a fresh server on a free port. A workload a server cannot serve by design \
            (select past FD_SETSIZE) is shown as n/a and not run. Replies of the upper hook are checked \
            as upper-cased; every other server must echo. One line per finished step goes to stderr.
            Example: echo-bench suite --backends epoll --hooks echo --compare 'c_epoll=./c_epoll_echo --port {port}'
            """
    )

    static func run(_ options: ParsedOptions) throws(UsageError) -> ExitStatus {
        let settings = try settings(from: options)
        mkdir(settings.logFolder, 0o755)
        Interrupt.catchSignals()
        _ = cb_become_subreaper()
        var cgroups: ServerCgroups?
        if settings.accounting != "tree" {
            cgroups = ServerCgroups.create()
            if cgroups == nil, settings.accounting == "cgroup" {
                StandardError.line("echo-bench: cannot make a cgroup v2 per server here (not mounted, or no permission): give --accounting tree")
                return .failed
            }
        }
        let outcome = SuiteRunner(settings: settings, progress: ProgressLine(label: ""), cgroups: cgroups).run()
        let report = SuiteReport(settings: settings, machine: .current(),
                                 commandLine: (["echo-bench"] + CommandLine.arguments.dropFirst()).map(\.shellQuoted).joined(separator: " "),
                                 accounting: cgroups != nil ? CgroupUsage.method : ProcessTreeUsage.method,
                                 runs: outcome.runs, idle: outcome.idle, interrupted: outcome.interrupted)
        let markdown = report.markdown()
        print(markdown)
        var written = true
        if let path = options.string("md") { written = write(markdown + "\n", to: path) && written }
        if let path = options.string("svg") { written = write(report.svg(), to: path) && written }
        if let path = options.string("json") { written = write(report.json().text + "\n", to: path) && written }
        if let signal = outcome.interrupted { return .interrupted(by: signal) }
        if !written { return .failed }
        if outcome.runs.allSatisfy({ $0.report == nil }) { return .failed }
        return report.problems.isEmpty ? .success : .errorsCounted
    }

    static func settings(from options: ParsedOptions) throws(UsageError) -> SuiteSettings {
        let available = Backend.available.subtracting([.auto])
        let backends: [Backend] = try list(options, "backends", default: Backend.allCases.filter(available.contains)) { text throws(UsageError) -> Backend? in
            if text == "none" { return nil }
            guard let backend = Backend(rawValue: text), available.contains(backend) else {
                throw options.invalid("backends", text, "backends of this platform: \(Backend.allCases.filter(available.contains).map(\.rawValue).joined(separator: ", ")), or none")
            }
            return backend
        }.compactMap { $0 }
        if options.flag("quick"), options.flag("full") { throw UsageError("'--quick' and '--full' are two presets: give one.") }
        let preset: SuitePreset = options.flag("quick") ? .quick : options.flag("full") ? .full : .standard
        let hooks: [String] = try list(options, "hooks", default: ["echo", "upper"]) { text throws(UsageError) in
            switch BuiltinHook(name: text) {
            case let hook? where [.echo, .upper, .asyncUpper].contains(hook): return hook.description
            case .delay(let range)?: return BuiltinHook.delay(range).description
            default: throw options.invalid("hooks", text, "echo, upper, async-upper or delay:MS (the hooks whose replies the load generator can check)")
            }
        }
        // Without --hooks (and without --full), upper runs on one backend only: the platform's
        // default when it is in the list.
        let defaultBackend = Backend(rawValue: String(cString: ce_backend_default()))
        let upperBackends = options.string("hooks") != nil || preset.upperOnEveryBackend ? backends
            : backends.contains { $0 == defaultBackend } ? [defaultBackend!] : Array(backends.prefix(1))
        var servers: [ServerSpec] = []
        for hook in hooks {
            for backend in hook == "upper" ? upperBackends : backends {
                let name = hook == "echo" ? backend.rawValue : "\(backend.rawValue)+\(hook)"
                servers.append(ServerSpec(name: name, launch: .echoCLI(backend: backend, hook: hook)))
            }
        }
        for peer in try peers(options) {
            switch peer.command() {
            case .success(let command): servers.append(ServerSpec(name: peer.rawValue, launch: .shell(command)))
            case .failure(let unavailable): throw UsageError(unavailable.message)
            }
        }
        for text in options.strings("compare") { servers.append(try ServerSpec.parseCompare(text)) }
        guard !servers.isEmpty else { throw UsageError("No server to measure: give --backends, --hooks or --compare.") }
        let names = servers.map(\.name)
        if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw UsageError("Two servers are named '\(repeated)'; give each --compare a name of its own.")
        }
        // The default backend's echo is what most people run, and a backend every workload
        // suits: the ratios are to it unless --baseline says otherwise.
        let baseline = options.string("baseline") ?? defaultBackend.map(\.rawValue).flatMap { names.contains($0) ? $0 : nil } ?? names[0]
        guard names.contains(baseline) else {
            throw options.invalid("baseline", baseline, "one of the servers: \(names.joined(separator: ", "))")
        }
        var workloads: [Workload] = []
        for text in options.strings("workload") { workloads.append(try WorkloadSpec.parse(text)) }

        let pinned = !options.flag("no-pin") && cb_allowed_cpus() >= 2
        return SuiteSettings(
            servers: servers,
            workloads: workloads.isEmpty ? preset.workloads : workloads,
            idleConnections: try options.integer("idle-conns", default: preset.idleConnections, in: 0...100_000),
            rounds: try options.integer("rounds", default: preset.rounds, in: 1...100),
            warmup: try options.seconds("warmup", default: preset.warmup, in: 0...600),
            duration: try options.seconds("duration", default: preset.duration, in: 0.1...3600),
            host: options.string("host") ?? "127.0.0.1",
            echoCLI: options.string("echo-cli") ?? defaultEchoCLI(),
            serverCPU: pinned ? try options.integer("server-cpu", default: 0, in: 0...4095) : nil,
            loadgenCPU: pinned ? try options.integer("loadgen-cpu", default: 1, in: 0...4095) : nil,
            logFolder: options.string("logs") ?? "/tmp/echo-bench-logs",
            accounting: try options.choice("accounting", default: "auto", [("auto", "auto"), ("cgroup", "cgroup"), ("tree", "tree")]),
            baseline: baseline)
    }

    /// `--peers socat,asyncio`, or `installed`.
    private static func peers(_ options: ParsedOptions) throws(UsageError) -> [Peer] {
        if options.string("peers") == "installed" { return Peer.installed }
        return try list(options, "peers", default: []) { text throws(UsageError) in
            guard let peer = Peer(rawValue: text) else {
                throw options.invalid("peers", text, "\(Peer.allCases.map(\.rawValue).joined(separator: ", ")) or installed")
            }
            return peer
        }
    }

    private static func list<Value>(_ options: ParsedOptions, _ name: String, default fallback: [Value],
                                    _ parse: (String) throws(UsageError) -> Value) throws(UsageError) -> [Value] {
        guard let text = options.string(name) else { return fallback }
        var values: [Value] = []
        for part in text.split(separator: ",") { values.append(try parse(String(part))) }
        return values
    }

    /// echo-cli from the same build folder as this echo-bench.
    static func defaultEchoCLI() -> String {
        var path = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        guard length > 0 else { return ".build/release/echo-cli" }
        let me = String(cBuffer: path)
        return me.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/") + "/echo-cli"
    }

    private static func write(_ text: String, to path: String) -> Bool {
        guard let file = fopen(path, "w") else {
            StandardError.line("echo-bench: cannot write \(path): \(String(cString: strerror(errno)))")
            return false
        }
        defer { fclose(file) }
        return fputs(text, file) >= 0
    }
}

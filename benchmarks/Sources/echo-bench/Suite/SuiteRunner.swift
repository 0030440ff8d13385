import cbench
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a suite runs: what, against whom, for how long, on which CPUs.
struct SuiteSettings: Sendable {
    var servers: [ServerSpec]
    var workloads: [Workload]
    var idleConnections: Int
    var rounds: Int
    var warmup: Double
    var duration: Double
    var host: String
    var echoCLI: String
    /// nil: not pinned (asked, or fewer than two CPUs allowed).
    var serverCPU: Int?
    var loadgenCPU: Int?
    var logFolder: String
    /// `auto`, `cgroup` or `tree`: see ``ServerUsage``.
    var accounting: String
    var baseline: String

    /// The most connections any run holds open at once: the idle run holds one more.
    var mostConnections: Int {
        max(workloads.map(\.conns).max() ?? 0, idleConnections > 0 ? idleConnections + 1 : 0)
    }

    /// The load runs to make, in order: for each workload and round, every server that can
    /// serve it (interleaved, so that drift in the machine hits them alike).
    var plannedRuns: [(workload: Workload, round: Int, server: ServerSpec)] {
        workloads.flatMap { workload in
            (1...rounds).flatMap { round in
                servers.filter { $0.cannotServe(workload.conns) == nil }.map { (workload, round, $0) }
            }
        }
    }

    /// The servers whose idle memory is measured: those that can hold the idle connections
    /// and the one served beside them.
    var idleServers: [ServerSpec] {
        idleConnections > 0 ? servers.filter { $0.cannotServe(idleConnections + 1) == nil } : []
    }

    /// About how long the suite takes, from what a run costs beyond its warm-up and window on
    /// a 2-core machine (starting and stopping the server, connecting, draining).
    var estimatedSeconds: Double {
        let runs = plannedRuns
        let connecting = runs.reduce(0.0) { $0 + Double($1.workload.conns) / 2000 }
        return Double(runs.count) * (warmup + duration + 0.35) + connecting
            + Double(idleServers.count) * (1 + Double(idleConnections) / 10_000)
    }
}

/// Runs every workload against every server, interleaved (for each workload and round, every
/// server in turn, so that drift in the machine hits them alike), with a fresh server per run.
struct SuiteRunner {
    let settings: SuiteSettings
    let progress: ProgressLine?
    /// A cgroup per server where the machine allows it; else each server's process tree.
    let cgroups: ServerCgroups?

    /// What ran. After SIGINT, SIGTERM or SIGHUP (`interrupted`) it holds the runs finished
    /// before the signal; the run it cut short is left out, and its server is stopped.
    struct Outcome {
        var runs: [RunRecord] = []
        var idle: [IdleRecord] = []
        var interrupted: Int32?
    }

    func run() -> Outcome {
        var outcome = Outcome()
        let planned = settings.plannedRuns
        announce(planned.count)
        for (step, (workload, round, server)) in planned.enumerated() {
            let label = "[\(step + 1)/\(planned.count)] \(workload.name), \(server.name), round \(round): "
            let record = runOnce(server, workload, round: round, label: label)
            if Interrupt.signal != nil { break }
            note(label + record.summary)
            outcome.runs.append(record)
        }
        let idleServers = Interrupt.signal == nil ? settings.idleServers : []
        for (index, server) in idleServers.enumerated() {
            let label = "[idle \(index + 1)/\(idleServers.count)] \(server.name), \(settings.idleConnections) connections: "
            progress?.relabel(label)
            progress?.show("opening")
            let record = measureIdle(server)
            if Interrupt.signal != nil { break }
            note(label + record.summary)
            outcome.idle.append(record)
        }
        progress?.finish()
        outcome.interrupted = Interrupt.signal
        return outcome
    }

    /// The first line: what will run and about how long it takes.
    private func announce(_ runs: Int) {
        let seconds = settings.estimatedSeconds
        let about = seconds < 90 ? "\(Int((seconds / 5).rounded(.up)) * 5) s" : "\(Int((seconds / 60).rounded())) min"
        let idle = settings.idleServers.count
        note("echo-bench suite: \(counted(settings.servers.count, "server")), \(counted(settings.workloads.count, "workload")), "
            + "\(counted(settings.rounds, "round")): \(counted(runs, "run")) of \(Decimal3.text(settings.warmup + settings.duration)) s"
            + (idle > 0 ? " and idle memory of \(counted(idle, "server"))" : "") + "; about \(about)")
    }

    /// `1 round`, `3 rounds`.
    private func counted(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

    /// One line per step on stderr, terminal or not (CI logs, nohup), above the live line.
    private func note(_ line: String) {
        progress?.finish()
        StandardError.line(line)
    }

    private func start(_ server: ServerSpec) -> Result<ServerProcess, ServerProcess.LaunchError> {
        guard let port = ServerProcess.freePort(host: settings.host) else {
            return .failure(.init(message: "no free port on \(settings.host)"))
        }
        let log = settings.logFolder + "/" + server.name.map { $0.isLetter || $0.isNumber ? $0 : "-" } + ".log"
        let process: ServerProcess
        do {
            let arguments = server.arguments(echoCLI: settings.echoCLI, host: settings.host, port: port,
                                             logs: settings.logFolder, connections: settings.mostConnections)
            process = try ServerProcess(arguments: arguments, port: port, logPath: String(log),
                                        cpu: settings.serverCPU, cgroups: cgroups)
        } catch {
            pinLoadGenerator()
            return .failure(error)
        }
        pinLoadGenerator()
        guard process.waitUntilListening(host: settings.host, timeout: 10) else {
            process.stop()
            return .failure(.init(message: "\(server.name) did not listen on port \(port) within 10 s (see \(log))"))
        }
        return .success(process)
    }

    private func pinLoadGenerator() {
        if let cpu = settings.loadgenCPU { _ = cb_pin_to_cpu(Int32(cpu)) }
    }

    /// Runs `body` with a fresh server, stopped afterwards; or reports why it did not start.
    private func withServer(_ server: ServerSpec, failed: (String) -> Void, _ body: (ServerProcess) -> Void) {
        switch start(server) {
        case .failure(let error):
            failed(error.message)
        case .success(let process):
            body(process)
            process.stop()
        }
    }

    private func runOnce(_ server: ServerSpec, _ base: Workload, round: Int, label: String) -> RunRecord {
        var record = RunRecord(server: server.name, workload: base.name, round: round, aliveAfter: true)
        var workload = base
        workload.expectation = server.expectation
        workload.warmup = settings.warmup
        workload.duration = settings.duration
        workload.seed = UInt64(round)
        withServer(server, failed: { record.failure = $0 }) { process in
            progress?.relabel(label)
            do throws(LoadError) {
                record.report = try LoadRun.run(workload, host: settings.host, port: process.port,
                                                server: process.usage, progress: progress)
            } catch {
                record.failure = error.message
            }
            record.aliveAfter = process.isRunning
        }
        return record
    }

    private func measureIdle(_ server: ServerSpec) -> IdleRecord {
        var record = IdleRecord(server: server.name, count: settings.idleConnections, opened: 0)
        withServer(server, failed: { record.failure = $0 }) { process in
            // One served connection first, so the baseline includes what serving any costs.
            var error = [CChar](repeating: 0, count: 256)
            var first: Int32 = -1
            guard cb_idle_open(settings.host, Int32(process.port), 1, &first, &error, error.count) == 1 else {
                record.failure = String(cBuffer: error)
                return
            }
            usleep(200_000)
            record.memoryBefore = process.usage.memoryBytes()
            var fds = [Int32](repeating: -1, count: settings.idleConnections)
            let opened = Int(cb_idle_open(settings.host, Int32(process.port), Int32(fds.count), &fds, &error, error.count))
            record.opened = opened
            if opened < fds.count { record.failure = "opened \(opened) of \(fds.count): \(String(cBuffer: error))" }
            usleep(200_000)
            record.memoryAfter = process.usage.memoryBytes()
            cb_idle_close(&fds, Int32(opened))
            cb_idle_close(&first, 1)
        }
        return record
    }
}

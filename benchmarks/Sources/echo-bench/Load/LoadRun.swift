import cbench
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A load run could not start: the address does not resolve, too many connections for the
/// descriptor limit, no memory.
struct LoadError: Error, Sendable {
    var message: String
}

/// Runs the C load engine once and turns its result into a ``LoadReport``. When the server is
/// known its CPU time (and the machine's) is read exactly as the measured window opens and
/// closes, and its memory as it closes, with every connection still open.
enum LoadRun {
    static func run(_ workload: Workload, host: String, port: Int, server: ServerUsage?,
                    progress: ProgressLine?) throws(LoadError) -> LoadReport {
        let observer = Observer(server: server, progress: progress)
        let result = UnsafeMutablePointer<cb_load_result>.allocate(capacity: 1)
        defer { result.deallocate() }
        var error = [CChar](repeating: 0, count: 256)
        let status = host.withCString { hostText in
            var config = workload.coreConfig
            config.host = hostText
            config.port = Int32(port)
            config.progress = observerTrampoline
            config.progress_ctx = Unmanaged.passUnretained(observer).toOpaque()
            return withExtendedLifetime(observer) { cb_load_run(&config, result, &error, error.count) }
        }
        progress?.finish()
        guard status == 0 else {
            throw LoadError(message: String(cBuffer: error))
        }
        var report = LoadReport(workload: workload, result: result.pointee, serverCPU: observer.share(\.serverCPU))
        report.serverMeasured = server != nil
        report.machineCPU = observer.share(\.machineCPU)
        report.otherCPU = observer.otherCPU
        report.serverMemoryBytes = observer.serverMemory
        return report
    }

    /// What is read at each edge of the window.
    struct Sample {
        var time: Double
        var serverCPU: Double?
        var machineCPU: Double?
        /// Every user process but the server's and echo-bench.
        var others: [Int32: ProcessStat]
        /// Seconds since boot, to tell a process born inside the window from one the first
        /// sample missed.
        var sinceBoot: Double
    }

    /// Receives the engine's phase changes on its thread.
    final class Observer {
        let server: ServerUsage?
        let progress: ProgressLine?
        var start: Sample?
        var end: Sample?
        var serverMemory: Int?

        init(server: ServerUsage?, progress: ProgressLine?) {
            self.server = server
            self.progress = progress
        }

        func phase(_ phase: cb_phase, started: Bool, elapsed: Double, roundTrips: UInt64) {
            // The window closes when the drain begins, or earlier when a signal ends the run.
            if started, let server {
                if phase == CB_PHASE_MEASURE {
                    start = sample(server)
                } else if phase.rawValue > CB_PHASE_MEASURE.rawValue, start != nil, end == nil {
                    end = sample(server)
                    serverMemory = server.memoryBytes()
                }
            }
            progress?.update(phase: phase, elapsed: elapsed, roundTrips: roundTrips)
        }

        private func sample(_ server: ServerUsage) -> Sample {
            let sinceBoot = ProcessProbe.sinceBoot()
            let cpu = server.cpuSeconds()
            let time = Monotonic.seconds()
            let machine = ProcessProbe.machineBusySeconds()
            let excluded = Set(server.processes() + [getpid()])
            var others: [Int32: ProcessStat] = [:]
            for process in ProcessProbe.allStats() where !excluded.contains(process.pid) && !process.isKernelThread {
                others[process.pid] = process
            }
            return Sample(time: time, serverCPU: cpu, machineCPU: machine, others: others, sinceBoot: sinceBoot)
        }

        /// What the other processes on the machine used over the window, in cores: those alive
        /// at both edges, and the whole of what one born inside it used. One that ended inside
        /// the window, or started just before it unseen, is missed: this is a floor, how busy
        /// the neighbours kept the machine at least.
        var otherCPU: Double? {
            guard let start, let end, end.time > start.time else { return nil }
            var used = 0.0
            for (pid, process) in end.others {
                if let before = start.others[pid], before.startedAt == process.startedAt {
                    used += max(0, process.cpuSeconds - before.cpuSeconds)
                } else if process.startedAt >= start.sinceBoot {
                    used += process.cpuSeconds
                }
            }
            return used / (end.time - start.time)
        }

        /// A CPU time over the window ÷ the window: 1 = one full core.
        func share(_ value: KeyPath<Sample, Double?>) -> Double? {
            guard let start, let end, let first = start[keyPath: value], let last = end[keyPath: value],
                  end.time > start.time else { return nil }
            return (last - first) / (end.time - start.time)
        }
    }
}

private let observerTrampoline: cb_progress_fn = { context, phase, started, elapsed, roundTrips in
    guard let context else { return }
    Unmanaged<LoadRun.Observer>.fromOpaque(context).takeUnretainedValue()
        .phase(phase, started: started != 0, elapsed: elapsed, roundTrips: roundTrips)
}

enum Monotonic {
    static func seconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

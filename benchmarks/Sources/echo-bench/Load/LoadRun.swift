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

/// Runs the C load engine once and turns its result into a ``LoadReport``. When the server's
/// process is known its CPU time is read exactly as the measured window opens and closes.
enum LoadRun {
    static func run(_ workload: Workload, host: String, port: Int, serverPID: Int32?,
                    progress: ProgressLine?) throws(LoadError) -> LoadReport {
        let observer = Observer(serverPID: serverPID, progress: progress)
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
        return LoadReport(workload: workload, result: result.pointee, serverCPU: observer.serverCPUShare)
    }

    /// Receives the engine's phase changes on its thread.
    final class Observer {
        let serverPID: Int32?
        let progress: ProgressLine?
        var serverCPUAtStart: Double?
        var serverCPUAtEnd: Double?
        var windowStart: Double = 0
        var windowEnd: Double = 0

        init(serverPID: Int32?, progress: ProgressLine?) {
            self.serverPID = serverPID
            self.progress = progress
        }

        func phase(_ phase: cb_phase, started: Bool, elapsed: Double, roundTrips: UInt64) {
            // The window closes when the drain begins, or earlier when a signal ends the run.
            if started, let serverPID {
                if phase == CB_PHASE_MEASURE {
                    serverCPUAtStart = ProcessProbe.cpuSeconds(serverPID)
                    windowStart = Monotonic.seconds()
                } else if phase.rawValue > CB_PHASE_MEASURE.rawValue, serverCPUAtStart != nil, serverCPUAtEnd == nil {
                    serverCPUAtEnd = ProcessProbe.cpuSeconds(serverPID)
                    windowEnd = Monotonic.seconds()
                }
            }
            progress?.update(phase: phase, elapsed: elapsed, roundTrips: roundTrips)
        }

        /// The server's CPU time over the window ÷ the window: 1 = one full core.
        var serverCPUShare: Double? {
            guard let start = serverCPUAtStart, let end = serverCPUAtEnd, windowEnd > windowStart else { return nil }
            return (end - start) / (windowEnd - windowStart)
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

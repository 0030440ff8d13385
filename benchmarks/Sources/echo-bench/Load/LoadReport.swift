import cbench
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one load run measured. Rates are over the measured window only.
struct LoadReport: Sendable {
    var workload: Workload
    var ready: Int
    var connectFailures: Int
    /// Why the first failed connect failed (`connection refused`), when the system said.
    var connectError: String?
    var connectSeconds: Double
    var measuredSeconds: Double
    var roundTrips: UInt64
    var bytesSent: UInt64
    var bytesReceived: UInt64
    var verifyErrors: UInt64
    var mismatchedBytes: UInt64
    var overflowErrors: UInt64
    var disconnects: UInt64
    var timeouts: UInt64
    var latency: LatencySummary
    /// This process's CPU time over the window ÷ the window: 1 = one full core.
    var loadgenCPU: Double
    /// The server's, all its processes, when it is known (nil also where it cannot be read).
    var serverCPU: Double?
    /// Whether a server was given to measure, so that a missing figure reads "cannot measure".
    var serverMeasured = false
    /// The whole machine's busy CPU time over the window (/proc/stat), in cores: the server's
    /// and the load generator's, plus whatever else ran.
    var machineCPU: Double?
    /// The other processes' CPU time over the window, in cores: the neighbours' share of
    /// `machineCPU` (a floor: see ``LoadRun/Observer/otherCPU``).
    var otherCPU: Double?
    /// The server's memory as the window closed (all its processes: ``ServerUsage``).
    var serverMemoryBytes: Int?
    /// The signal that ended the run early; the figures cover what ran before it.
    var interrupted: Int32?

    var roundTripsPerSecond: Double { measuredSeconds > 0 ? Double(roundTrips) / measuredSeconds : 0 }
    /// Megabytes (10^6) per second, each way.
    var megabytesSentPerSecond: Double { measuredSeconds > 0 ? Double(bytesSent) / measuredSeconds / 1e6 : 0 }
    var megabytesReceivedPerSecond: Double { measuredSeconds > 0 ? Double(bytesReceived) / measuredSeconds / 1e6 : 0 }
    /// Server CPU µs per round trip: what one message costs the server, even when the load
    /// generator is what limits the rate.
    var serverMicrosecondsPerRoundTrip: Double? {
        guard let serverCPU, roundTrips > 0 else { return nil }
        return serverCPU * measuredSeconds / Double(roundTrips) * 1e6
    }
    /// Everything that went wrong: failed connects, wrong bytes, extra bytes, lost peers,
    /// lost echoes.
    var errors: UInt64 {
        UInt64(connectFailures) + verifyErrors + overflowErrors + disconnects + timeouts
    }

    init(workload: Workload, result: cb_load_result, serverCPU: Double?) {
        self.workload = workload
        ready = Int(result.ready)
        connectFailures = Int(result.connect_failures)
        connectError = result.connect_error == 0 ? nil : String(cString: strerror(result.connect_error)).lowercasedFirst
        connectSeconds = result.connect_s
        measuredSeconds = result.measured_s
        roundTrips = result.round_trips
        bytesSent = result.bytes_sent
        bytesReceived = result.bytes_received
        verifyErrors = result.verify_errors
        mismatchedBytes = result.mismatched_bytes
        overflowErrors = result.overflow_errors
        disconnects = result.disconnects
        timeouts = result.timeouts
        latency = withUnsafePointer(to: result.latency) { LatencySummary($0) }
        loadgenCPU = result.measured_s > 0 ? result.cpu_s / result.measured_s : 0
        self.serverCPU = serverCPU
        interrupted = result.interrupted == 0 ? nil : result.interrupted
    }
}

/// Latency percentiles in microseconds, read from the engine's histogram.
struct LatencySummary: Sendable {
    var count: UInt64
    var min: Double
    var mean: Double
    var p50: Double
    var p90: Double
    var p99: Double
    var p999: Double
    var max: Double

    init(_ histogram: UnsafePointer<cb_histogram>) {
        func micros(_ quantile: Double) -> Double { Double(cb_histogram_quantile(histogram, quantile)) / 1000 }
        count = histogram.pointee.total
        min = count > 0 ? Double(histogram.pointee.min) / 1000 : 0
        mean = count > 0 ? Double(histogram.pointee.sum) / Double(count) / 1000 : 0
        p50 = micros(0.5)
        p90 = micros(0.9)
        p99 = micros(0.99)
        p999 = micros(0.999)
        max = count > 0 ? Double(histogram.pointee.max) / 1000 : 0
    }
}

extension String {
    /// `Connection refused` as a clause: `connection refused`.
    var lowercasedFirst: String { prefix(1).lowercased() + dropFirst() }
}

/// `127.0.0.1:7000`, `[::1]:7000`: a host and port as people write them.
func endpoint(_ host: String, _ port: Int) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
}

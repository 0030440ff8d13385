/// One load run of one server in one round.
struct RunRecord: Sendable {
    var server: String
    var workload: String
    var round: Int
    var report: LoadReport?
    /// Why the run has no report: the server did not start, the load could not run.
    var failure: String?
    var peakResidentBytes: Int?
    var aliveAfter: Bool
}

/// Idle memory: what `count` open, served connections add to a server's resident memory.
struct IdleRecord: Sendable {
    var server: String
    var count: Int
    var opened: Int
    var residentBefore: Int?
    var residentAfter: Int?
    var failure: String?

    var bytesPerConnection: Double? {
        guard let before = residentBefore, let after = residentAfter, opened > 0 else { return nil }
        return Double(after - before) / Double(opened)
    }
}

/// The medians over rounds of one server on one workload: the cells of the tables.
struct CellSummary: Sendable {
    var roundTripsPerSecond: Double
    /// (max − min) / median of round trips/s: the run-to-run noise.
    var spread: Double
    var megabytesPerSecond: Double
    var p50: Double
    var p99: Double
    var p999: Double
    var serverCPU: Double?
    var serverMicrosecondsPerRoundTrip: Double?
    var loadgenCPU: Double
    var peakResidentBytes: Int?
    var fewestReady: Int
    var asked: Int
    var errors: UInt64
    var failures: [String]

    var isClean: Bool { errors == 0 && fewestReady == asked && failures.isEmpty }

    init?(_ records: [RunRecord]) {
        let reports = records.compactMap(\.report)
        failures = records.compactMap(\.failure)
        guard !reports.isEmpty else { return nil }
        let rates = reports.map(\.roundTripsPerSecond)
        roundTripsPerSecond = median(rates)
        spread = roundTripsPerSecond > 0 ? (rates.max()! - rates.min()!) / roundTripsPerSecond : 0
        megabytesPerSecond = median(reports.map(\.megabytesReceivedPerSecond))
        p50 = median(reports.map(\.latency.p50))
        p99 = median(reports.map(\.latency.p99))
        p999 = median(reports.map(\.latency.p999))
        let cpu = reports.compactMap(\.serverCPU)
        serverCPU = cpu.isEmpty ? nil : median(cpu)
        let perRoundTrip = reports.compactMap(\.serverMicrosecondsPerRoundTrip)
        serverMicrosecondsPerRoundTrip = perRoundTrip.isEmpty ? nil : median(perRoundTrip)
        loadgenCPU = median(reports.map(\.loadgenCPU))
        peakResidentBytes = records.compactMap(\.peakResidentBytes).max()
        fewestReady = reports.map(\.ready).min()!
        asked = reports[0].workload.conns
        errors = reports.reduce(0) { $0 + $1.errors }
        for record in records where !record.aliveAfter { failures.append("\(record.server) died during round \(record.round)") }
    }
}

/// One load run of one server in one round.
struct RunRecord: Sendable {
    var server: String
    var workload: String
    var round: Int
    var report: LoadReport?
    /// Why the run has no report: the server did not start, the load could not run.
    var failure: String?
    var aliveAfter: Bool
}

extension RunRecord {
    /// One line for the progress log: the rate and cost, or why there is none.
    var summary: String {
        guard let report else { return "failed: \(failure ?? "no report")" }
        var line = "\(Decimal3.grouped(report.roundTripsPerSecond)) round trips/s"
        if let cost = report.serverMicrosecondsPerRoundTrip { line += ", \(Decimal3.fixed(cost, places: 2)) µs of server CPU each" }
        if report.errors > 0 { line += ", \(report.errors) errors" }
        if !aliveAfter { line += ", the server died" }
        return line
    }
}

extension IdleRecord {
    /// One line for the progress log.
    var summary: String {
        if let failure { return "failed: \(failure)" }
        return bytesPerConnection.map { "\(Decimal3.grouped($0)) bytes each" } ?? "memory: cannot measure"
    }
}

/// Idle memory: what `count` open, served connections add to a server's memory (all
/// its processes: a forking server's per-connection processes count).
struct IdleRecord: Sendable {
    var server: String
    var count: Int
    var opened: Int
    var memoryBefore: Int?
    var memoryAfter: Int?
    var failure: String?

    var bytesPerConnection: Double? {
        guard let before = memoryBefore, let after = memoryAfter, opened > 0 else { return nil }
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
    /// As the window closed: the median over rounds.
    var memoryBytes: Int?
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
        let memory = reports.compactMap(\.serverMemoryBytes)
        memoryBytes = memory.isEmpty ? nil : Int(median(memory.map(Double.init)))
        fewestReady = reports.map(\.ready).min()!
        asked = reports[0].workload.conns
        errors = reports.reduce(0) { $0 + $1.errors }
        for record in records where !record.aliveAfter { failures.append("\(record.server) died during round \(record.round)") }
    }
}

/// The suite's results, grouped for the tables: medians per workload and server.
struct SuiteReport: Sendable {
    var settings: SuiteSettings
    var machine: MachineInfo
    var commandLine: String
    /// How the servers' CPU time and memory were read (a cgroup each, or their process trees).
    var accounting: String
    var runs: [RunRecord]
    var idle: [IdleRecord]
    /// The signal that cut the suite short: the tables hold the runs finished before it.
    var interrupted: Int32?

    /// How many load runs the settings ask for.
    var plannedRuns: Int { settings.plannedRuns.count }

    var serverNames: [String] { settings.servers.map(\.name) }
    var workloadNames: [String] { settings.workloads.map(\.name) }

    func cell(_ workload: String, _ server: String) -> CellSummary? {
        CellSummary(runs.filter { $0.workload == workload && $0.server == server })
    }

    /// What a cell without runs shows: "n/a (FD_SETSIZE)" where the server cannot serve the
    /// workload by design, else "failed" (the problems say why), or nothing after an interrupt.
    func missing(_ workload: String, _ server: String) -> String {
        if let conns = settings.workloads.first(where: { $0.name == workload })?.conns,
           let reason = settings.servers.first(where: { $0.name == server })?.cannotServe(conns) {
            return reason
        }
        return interrupted == nil ? "failed" : "–"
    }

    /// The median over rounds of `server`'s value ÷ the baseline's in the same round. The two
    /// ran back to back, so what drifted between rounds cancels out of each ratio, which a
    /// ratio of the two medians would not do.
    func pairedRatio(_ workload: String, _ server: String, _ value: (LoadReport) -> Double?) -> Double? {
        var ratios: [Double] = []
        for round in 1...settings.rounds {
            func report(_ name: String) -> LoadReport? {
                runs.first { $0.workload == workload && $0.server == name && $0.round == round }?.report
            }
            guard let mine = report(server).flatMap(value), let base = report(settings.baseline).flatMap(value),
                  base > 0 else { continue }
            ratios.append(mine / base)
        }
        return ratios.isEmpty ? nil : median(ratios)
    }

    /// Everything that went wrong, one line each, for the report's end.
    var problems: [String] {
        var lines: [String] = []
        for workload in workloadNames {
            for server in serverNames {
                let records = runs.filter { $0.workload == workload && $0.server == server }
                for failure in Set(records.compactMap(\.failure)).sorted() {
                    lines.append("\(workload), \(server): \(failure)")
                }
                if let cell = cell(workload, server) {
                    if cell.errors > 0 { lines.append("\(workload), \(server): \(cell.errors) errors over the rounds") }
                    if cell.fewestReady < cell.asked {
                        lines.append("\(workload), \(server): only \(cell.fewestReady) of \(cell.asked) connections got ready")
                    }
                }
                for record in records where !record.aliveAfter {
                    lines.append("\(workload), \(server): the server died in round \(record.round)")
                }
            }
        }
        for record in idle {
            if let failure = record.failure { lines.append("idle memory, \(record.server): \(failure)") }
        }
        return lines
    }
}

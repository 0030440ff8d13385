/// The suite's results as markdown: a throughput matrix, a CPU-per-round-trip matrix, the
/// details, idle memory, and anything that went wrong.
extension SuiteReport {
    func markdown() -> String {
        var out: [String] = []
        let pinning = settings.serverCPU.map { "server on CPU \($0), load generator on CPU \(settings.loadgenCPU!)" }
            ?? "not pinned"
        out.append("Suite run \(machine.date) on \(machine.cores) cores (\(machine.cpuModel)), kernel \(machine.kernel).")
        out.append("Median of \(settings.rounds) interleaved rounds, \(Decimal3.text(settings.duration)) s measured after \(Decimal3.text(settings.warmup)) s of warm-up; \(pinning); baseline **\(settings.baseline)**. Server CPU and memory: \(accounting).")
        out.append("")
        out.append("```sh\n\(commandLine)\n```")
        out.append("")
        if let interrupted {
            out.append("**Interrupted by \(Interrupt.name(interrupted))** after \(runs.count) of \(plannedRuns) runs\(idle.isEmpty ? "" : " and the idle memory of \(idle.count) servers"): the tables hold what was measured before it; the run it cut short is left out.")
            out.append("")
        }

        out.append("Round trips per second (stream rows: chunks of SIZE bytes), and the ratio to the baseline (the median of the ratios within each round); ⚠ marks errors or missing connections.")
        out.append("")
        out.append(matrix { workload, server in
            guard let cell = cell(workload, server) else { return missing(workload, server) }
            let ratio = pairedRatio(workload, server) { $0.roundTripsPerSecond }
            return Decimal3.grouped(cell.roundTripsPerSecond) + (ratio.map { " (\(Decimal3.fixed($0, places: 2))×)" } ?? "")
                + (cell.isClean ? "" : " ⚠")
        })
        out.append("")
        out.append("Server CPU time per round trip in µs (user + system over the measured window ÷ round trips), and the ratio to the baseline (the median of the ratios within each round): lower is better. This ranks servers even where the load generator limits the rate.")
        out.append("")
        out.append(matrix { workload, server in
            guard let cell = cell(workload, server) else { return missing(workload, server) }
            guard let value = cell.serverMicrosecondsPerRoundTrip else { return "cannot measure" }
            let ratio = pairedRatio(workload, server) { $0.serverMicrosecondsPerRoundTrip }
            return Decimal3.fixed(value, places: 2) + (ratio.map { " (\(Decimal3.fixed($0, places: 2))×)" } ?? "")
        })
        out.append("")
        out.append(details())
        if !idle.isEmpty || (settings.idleConnections > 0 && interrupted == nil) {
            out.append("")
            out.append(idleTable())
        }
        let problems = self.problems
        if !problems.isEmpty {
            out.append("")
            out.append("Problems:")
            out.append("")
            out += problems.map { "- " + $0 }
        }
        return out.joined(separator: "\n")
    }

    private func matrix(_ text: (String, String) -> String) -> String {
        var lines = ["| workload | " + serverNames.joined(separator: " | ") + " |",
                     "|---|" + String(repeating: "---:|", count: serverNames.count)]
        for workload in workloadNames {
            lines.append("| \(workload) | " + serverNames.map { text(workload, $0) }.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    private func details() -> String {
        var lines = [
            "| workload | server | round trips/s | spread | MB/s each way | p50 µs | p99 µs | p99.9 µs | memory MiB | server CPU % | server µs/rt | load gen CPU % | connected | errors |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for workload in workloadNames {
            for server in serverNames {
                guard let cell = cell(workload, server) else {
                    lines.append("| \(workload) | \(server) | \(missing(workload, server)) | | | | | | | | | | | |")
                    continue
                }
                let cells = [
                    workload, server, Decimal3.grouped(cell.roundTripsPerSecond),
                    "\(Decimal3.fixed(cell.spread * 100, places: 0)) %",
                    Decimal3.fixed(cell.megabytesPerSecond, places: 1),
                    Decimal3.fixed(cell.p50, places: 0), Decimal3.fixed(cell.p99, places: 0), Decimal3.fixed(cell.p999, places: 0),
                    cell.memoryBytes.map { Decimal3.fixed(Double($0) / 1_048_576, places: 1) } ?? "cannot measure",
                    cell.serverCPU.map { Decimal3.fixed($0 * 100, places: 0) } ?? "cannot measure",
                    cell.serverMicrosecondsPerRoundTrip.map { Decimal3.fixed($0, places: 2) } ?? "cannot measure",
                    Decimal3.fixed(cell.loadgenCPU * 100, places: 0),
                    "\(cell.fewestReady)/\(cell.asked)", String(cell.errors),
                ]
                lines.append("| " + cells.joined(separator: " | ") + " |")
            }
        }
        return lines.joined(separator: "\n")
    }

    private func idleTable() -> String {
        var lines = ["| idle memory | connections | memory before MiB | memory after MiB | bytes per connection |",
                     "|---|---:|---:|---:|---:|"]
        let mib = { (bytes: Int?) in bytes.map { Decimal3.fixed(Double($0) / 1_048_576, places: 1) } ?? "cannot measure" }
        for server in settings.servers {
            if let record = idle.first(where: { $0.server == server.name }) {
                lines.append("| \(record.server) | \(record.opened)/\(record.count) | \(mib(record.memoryBefore)) | "
                    + "\(mib(record.memoryAfter)) | \(record.bytesPerConnection.map { Decimal3.grouped($0) } ?? "–") |")
            } else if let reason = server.cannotServe(settings.idleConnections + 1) {
                lines.append("| \(server.name) | \(reason) | | | |")
            }
        }
        return lines.joined(separator: "\n")
    }
}

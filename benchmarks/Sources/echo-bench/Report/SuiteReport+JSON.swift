/// Every run's raw results, for tools and for re-reading a run later.
extension SuiteReport {
    func json() -> JSONObject {
        var object = JSONObject()
        object.add("date", machine.date)
        object.add("cores", machine.cores)
        object.add("cpu_model", machine.cpuModel)
        object.add("kernel", machine.kernel)
        object.add("command", commandLine)
        object.add("rounds", settings.rounds)
        object.add("warmup_s", settings.warmup)
        object.add("duration_s", settings.duration)
        object.add("pinned", settings.serverCPU != nil)
        object.add("baseline", settings.baseline)
        object.add("runs_planned", plannedRuns)
        object.add("server_accounting", accounting)
        if let interrupted { object.add("interrupted", Interrupt.name(interrupted)) }
        object.add("runs", array: runs.map { record in
            var entry = record.report?.json(host: settings.host, port: 0) ?? JSONObject()
            entry.add("server", record.server)
            entry.add("workload_name", record.workload)
            entry.add("round", record.round)
            entry.add("server_alive_after", record.aliveAfter)
            if let failure = record.failure { entry.add("failure", failure) }
            return entry
        })
        object.add("idle", array: idle.map { record in
            var entry = JSONObject()
            entry.add("server", record.server)
            entry.add("connections", record.count)
            entry.add("opened", record.opened)
            entry.add("memory_before_bytes", record.memoryBefore.map(Double.init))
            entry.add("memory_after_bytes", record.memoryAfter.map(Double.init))
            entry.add("bytes_per_connection", record.bytesPerConnection)
            if let failure = record.failure { entry.add("failure", failure) }
            return entry
        })
        return object
    }
}

extension EchoServer {
    /// The metrics server `configuration.metrics` asks for, started, or nil when it asks for
    /// none. It reads this server without keeping it alive.
    func startMetricsServer() throws(EchoServerError) -> MetricsServer? {
        guard let address = configuration.metrics else { return nil }
        let startTime = ProcessFigures.startTimeNow()
        let endpoints = MetricsEndpoints(
            metrics: { [weak self] in self?.metricsText(processStart: startTime) ?? "" },
            isReady: { [weak self] in self?.isReady ?? false })
        let metrics = MetricsServer(address: address, endpoints: endpoints, logger: logger)
        do throws(EchoServerError) {
            try metrics.start()
        } catch {
            guard case .cannotListen(let address, let reason) = error else { throw error }
            throw .cannotListen(address: "\(address) (--metrics)", reason: reason)  // not an echo listener
        }
        if let bound = metrics.address {
            logger.info("metrics on http://\(bound)/metrics", metadata: ["metrics.address": "\(bound)"])
        }
        return metrics
    }

    /// The /metrics text now: the counters of every loop, then the server's and the process's
    /// gauges.
    func metricsText(processStart: Double) -> String {
        var text = PrometheusText()
        let perLoop = statsPerLoop
        StatsFamily.write(perLoop, to: &text)
        StatsFamily.writeHookDurations(perLoop, to: &text)
        StatsFamily.writeServerWide(stats, to: &text)
        text.family("echo_ready", .gauge,
                    help: "1 while the server accepts connections; 0 before, and from the moment a graceful stop begins.")
        text.sample("echo_ready", UInt64(isReady ? 1 : 0))
        text.family("echo_loops", .gauge, help: "Event loops serving connections, each on a thread of its own.")
        text.sample("echo_loops", UInt64(perLoop.count))
        text.family("echo_build_info", .gauge, help: "Always 1; the labels name the version and the backend in use.")
        text.sample("echo_build_info", labels: [("version", CommandLineInterface.version),
                                                ("backend", backend ?? configuration.backend.rawValue)], UInt64(1))
        let process = ProcessFigures.now(startTime: processStart)
        let figures: [(String, PrometheusText.MetricType, String, Double?)] = [
            ("echo_process_start_time_seconds", .gauge, "When the process started, in seconds since the Unix epoch.",
             process.startTime),
            ("echo_process_cpu_seconds_total", .counter, "User and system CPU time the process has used, in seconds.",
             process.cpuSeconds),
            ("echo_process_resident_memory_bytes", .gauge, "Resident memory of the process, in bytes.",
             process.residentBytes.map(Double.init)),
            ("echo_process_open_fds", .gauge, "Open file descriptors of the process.", process.openDescriptors.map(Double.init)),
        ]
        for (name, type, help, value) in figures {
            guard let value else { continue }  // not on this platform
            text.family(name, type, help: help)
            text.sample(name, value)
        }
        return text.text
    }
}

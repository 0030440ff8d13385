/// How a load report is printed: a few aligned lines for people, one JSON object for tools.
extension LoadReport {
    func text(host: String, port: Int) -> String {
        let shape = workload.mode == .stream
            ? "stream of \(ByteCount.format(workload.size)) chunks, window \(ByteCount.format(workload.window ?? 4 * workload.size))"
            : "ping-pong of \(ByteCount.format(workload.size)) at depth \(workload.depth)"
        var lines = [
            "echo-bench load \(endpoint(host, port)): \(workload.conns) connections, \(shape), \(workload.framing.rawValue) framing, expecting \(workload.expectation.rawValue)",
        ]
        if let interrupted {
            lines.append("  interrupted   by \(Interrupt.name(interrupted)): the figures cover what ran before it")
        }
        guard ready > 0 else {
            // Nothing was measured: say why, not a window of zeros.
            lines.append("  connections   none ready, \(connectFailures) failed: \(whyNoneReady)")
            return lines.joined(separator: "\n")
        }
        lines += [
            "  measured      \(Decimal3.fixed(measuredSeconds, places: 2)) s after \(Decimal3.text(workload.warmup)) s of warm-up",
            "  connections   \(ready) ready, \(connectFailures) failed\(connectError.map { " (\($0))" } ?? ""), connected in \(Decimal3.fixed(connectSeconds, places: 2)) s",
            "  round trips   \(Decimal3.grouped(roundTripsPerSecond))/s (\(Decimal3.grouped(Double(roundTrips))) in the window)",
            "  throughput    \(Decimal3.fixed(megabytesSentPerSecond, places: 1)) MB/s sent, \(Decimal3.fixed(megabytesReceivedPerSecond, places: 1)) MB/s received",
            "  latency (µs)  p50 \(us(latency.p50))  p90 \(us(latency.p90))  p99 \(us(latency.p99))  p99.9 \(us(latency.p999))  max \(us(latency.max))  mean \(us(latency.mean))",
        ]
        if errors == 0 {
            let expected = workload.expectation == .upper ? "upper-cased, as expected" : "as sent"
            lines.append("  errors        none: every byte came back \(expected)")
        } else {
            lines.append("  errors        \(errors): \(verifyErrors) wrong messages (\(mismatchedBytes) bytes), \(overflowErrors) extra bytes, \(disconnects) disconnects, \(timeouts) lost echoes, \(connectFailures) failed connects")
        }
        var cpu = "  cpu           load generator \(percent(loadgenCPU)) of a core"
        if let serverCPU {
            cpu += "; server \(percent(serverCPU))"
            if let perRoundTrip = serverMicrosecondsPerRoundTrip {
                cpu += ", \(Decimal3.fixed(perRoundTrip, places: 2)) µs per round trip"
            }
        } else if serverMeasured {
            cpu += "; server: cannot measure"
        }
        lines.append(cpu)
        return lines.joined(separator: "\n")
    }

    func json(host: String, port: Int) -> JSONObject {
        var object = JSONObject()
        object.add("host", host)
        object.add("port", port)
        object.add("workload", workload.name)
        object.add("mode", workload.mode.rawValue)
        object.add("framing", workload.framing.rawValue)
        object.add("expect", workload.expectation.rawValue)
        object.add("conns", workload.conns)
        object.add("size", workload.size)
        object.add("depth", workload.depth)
        object.add("window", workload.window ?? 4 * workload.size)
        object.add("warmup_s", workload.warmup)
        object.add("measured_s", measuredSeconds)
        object.add("ready", ready)
        object.add("connect_failures", connectFailures)
        if let connectError { object.add("connect_error", connectError) }
        object.add("connect_s", connectSeconds)
        object.add("round_trips", roundTrips)
        object.add("round_trips_per_s", roundTripsPerSecond)
        object.add("mb_per_s_sent", megabytesSentPerSecond)
        object.add("mb_per_s_received", megabytesReceivedPerSecond)
        var latencyObject = JSONObject()
        latencyObject.add("count", latency.count)
        latencyObject.add("min", latency.min)
        latencyObject.add("mean", latency.mean)
        latencyObject.add("p50", latency.p50)
        latencyObject.add("p90", latency.p90)
        latencyObject.add("p99", latency.p99)
        latencyObject.add("p99_9", latency.p999)
        latencyObject.add("max", latency.max)
        object.add("latency_us", object: latencyObject)
        object.add("errors", errors)
        object.add("verify_errors", verifyErrors)
        object.add("mismatched_bytes", mismatchedBytes)
        object.add("overflow_errors", overflowErrors)
        object.add("disconnects", disconnects)
        object.add("timeouts", timeouts)
        object.add("loadgen_cpu_percent", loadgenCPU * 100)
        object.add("server_cpu_percent", serverCPU.map { $0 * 100 })
        object.add("server_cpu_us_per_round_trip", serverMicrosecondsPerRoundTrip)
        object.add("server_memory_bytes", serverMemoryBytes.map(Double.init))
        object.add("machine_cpu_percent", machineCPU.map { $0 * 100 })
        object.add("other_processes_cpu_percent", otherCPU.map { $0 * 100 })
        if let interrupted { object.add("interrupted", Interrupt.name(interrupted)) }
        return object
    }

    /// Why no connection got its first echo: what the first failed connect was told, or that
    /// the server never echoed in time.
    var whyNoneReady: String {
        connectError ?? "no first echo within \(Decimal3.text(workload.connectTimeout)) s"
    }

    private func us(_ value: Double) -> String { Decimal3.fixed(value, places: value < 100 ? 1 : 0) }

    private func percent(_ share: Double) -> String { "\(Decimal3.fixed(share * 100, places: 0)) %" }
}

import Glibc
import Synchronization
import Testing

/// RELIABILITY.md's sentinel: a client echoing 1 KiB every 50 ms throughout a test, which
/// must never see an error and must keep a low latency. "Others unaffected" is checked with
/// `expectUnaffected` once the hostile part of a test is over.
final class Sentinel: Sendable {
    struct Report: Sendable {
        var latencies: [Double] = []
        var errors: [String] = []
        var roundTrips: Int { latencies.count }
        var worstLatency: Double { latencies.max() ?? 0 }
        var p99: Double { percentile(latencies, 0.99) }
    }

    private final class Shared: Sendable {
        let stop = Atomic(false)
        let roundTrips = Atomic(0)
    }

    private let shared = Shared()
    private let work: Background<Report>

    /// Connects now (so the sentinel is served before whatever the test does next), then
    /// echoes on a thread of its own until `finish`.
    init(port: Int, host: String = "127.0.0.1") throws {
        let shared = shared
        let client = try TestClient(host: host, port: port, timeout: 5)
        work = Background {
            var report = Report()
            do {
                var seed: UInt64 = 0
                while !shared.stop.load(ordering: .relaxed) {
                    seed += 1
                    let message = Payload.random(count: 1024, seed: seed)
                    let start = monotonicSeconds()
                    if try !client.roundTrip(message) { report.errors.append("mismatch at round trip \(seed)") }
                    report.latencies.append(monotonicSeconds() - start)
                    shared.roundTrips.add(1, ordering: .relaxed)
                    usleep(50_000)
                }
            } catch {
                report.errors.append("\(error)")
            }
            client.close()
            return report
        }
    }

    func finish() throws -> Report {
        shared.stop.store(true, ordering: .relaxed)
        return try work.value(timeout: 10)
    }

    /// Lets the sentinel make `moreRoundTrips` more round trips (so it is served after the
    /// hostile part too), stops it, and expects it never saw an error and kept its p99 under
    /// `p99Bound` seconds (scaled for sanitizer builds). The bound is generous: the machine is
    /// shared and noisy; a server that stalls its other clients shows seconds, not tenths.
    func expectUnaffected(moreRoundTrips: Int = 2, minimumRoundTrips: Int = 3, p99Bound: Double = 0.25,
                          sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let target = max(shared.roundTrips.load(ordering: .relaxed) + moreRoundTrips, minimumRoundTrips)
            _ = waitUntil(timeout: 5 * Sanitizer.slowdown) { self.shared.roundTrips.load(ordering: .relaxed) >= target }
            let report = try finish()
            #expect(report.errors.isEmpty, "sentinel: \(report.errors)", sourceLocation: sourceLocation)
            #expect(report.roundTrips >= minimumRoundTrips, "sentinel made only \(report.roundTrips) round trips",
                    sourceLocation: sourceLocation)
            let bound = p99Bound * Sanitizer.slowdown
            #expect(report.p99 < bound, "sentinel p99 \(report.p99) s over \(report.roundTrips) round trips (bound \(bound) s)",
                    sourceLocation: sourceLocation)
        } catch {
            Issue.record("sentinel: \(error)", sourceLocation: sourceLocation)
        }
    }
}

/// The `fraction` percentile (0.99 for p99) of `samples`, nearest rank; 0 when empty.
func percentile(_ samples: [Double], _ fraction: Double) -> Double {
    guard !samples.isEmpty else { return 0 }
    let sorted = samples.sorted()
    let rank = Int((fraction * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

/// One in-process microbenchmark: `run(iterations)` does the operation that many times.
/// Either a time per operation (ns/op) or, when `bytesPerOperation` is set, a rate (MB/s).
struct MicroBenchmark {
    var name: String
    var bytesPerOperation: Int?
    var run: (Int) -> Void
}

/// The timings of one benchmark over its repetitions.
struct MicroResult: Sendable {
    var name: String
    var iterations: Int
    /// Nanoseconds per operation, one per repetition, sorted.
    var nanoseconds: [Double]
    var bytesPerOperation: Int?

    var median: Double { nanoseconds[nanoseconds.count / 2] }
    var min: Double { nanoseconds.first ?? 0 }
    var max: Double { nanoseconds.last ?? 0 }

    /// MB/s (10^6 bytes) at a time per operation.
    func rate(_ nanoseconds: Double) -> Double? {
        bytesPerOperation.map { Double($0) / nanoseconds * 1e3 }
    }
}

/// Times benchmarks: find an iteration count that takes about `repetitionTime`, run once to
/// warm caches and branch predictors, then time `repetitions` runs of that count.
struct MicroRunner {
    var repetitionTime = 0.05
    var repetitions = 10

    func measure(_ benchmark: MicroBenchmark) -> MicroResult {
        var iterations = 1
        while true {
            let took = time { benchmark.run(iterations) }
            if took >= repetitionTime / 4 || iterations >= 1 << 30 {
                iterations = Swift.max(1, Int(Double(iterations) * repetitionTime / Swift.max(took, 1e-9)))
                break
            }
            iterations *= 4
        }
        benchmark.run(iterations) // warm-up
        var samples: [Double] = []
        for _ in 0..<repetitions {
            samples.append(time { benchmark.run(iterations) } / Double(iterations) * 1e9)
        }
        return MicroResult(name: benchmark.name, iterations: iterations, nanoseconds: samples.sorted(),
                           bytesPerOperation: benchmark.bytesPerOperation)
    }

    private func time(_ body: () -> Void) -> Double {
        let start = Monotonic.seconds()
        body()
        return Monotonic.seconds() - start
    }
}

/// Keeps a computed value alive so the optimizer cannot delete the work that made it.
@inline(never)
func consume<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

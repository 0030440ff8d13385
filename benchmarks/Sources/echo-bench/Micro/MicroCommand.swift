/// `echo-bench micro`: the hot pieces timed in-process.
enum MicroCommand {
    static let spec = CommandSpec(
        name: "micro",
        abstract: "Time the hot pieces in-process: framing, buffers, replies, Swift hook calls.",
        options: [
            .value("filter", "text", "Only the benchmarks whose name contains this text."),
            .value("repetitions", "count", "Timed repetitions of each benchmark (default 10)."),
            .value("time", "seconds", "Target duration of one repetition (default 0.05)."),
            .flag("json", "Print the results as one JSON object."),
        ],
        discussion: """
            Each benchmark is calibrated to the target duration, run once to warm up, then timed \
            over the repetitions; the table shows the median, the fastest and the slowest.
            """
    )

    static func run(_ options: ParsedOptions) throws(UsageError) -> ExitStatus {
        let runner = MicroRunner(
            repetitionTime: try options.seconds("time", default: 0.05, in: 0.001...10),
            repetitions: try options.integer("repetitions", default: 10, in: 1...1000))
        var benchmarks = MicroCases.all()
        if let filter = options.string("filter") {
            benchmarks = benchmarks.filter { $0.name.contains(filter) }
            guard !benchmarks.isEmpty else {
                throw UsageError("No benchmark name contains '\(filter)'; the names are:\n"
                    + MicroCases.all().map { "  " + $0.name }.joined(separator: "\n"))
            }
        }
        let json = options.flag("json")
        let progress = json ? nil : ProgressLine(label: "")
        var results: [MicroResult] = []
        for benchmark in benchmarks {
            progress?.show("timing \(benchmark.name)")
            results.append(runner.measure(benchmark))
        }
        progress?.finish()
        print(json ? jsonText(results, runner) : table(results, runner))
        return .success
    }

    static func table(_ results: [MicroResult], _ runner: MicroRunner) -> String {
        let header = ["benchmark", "median", "best", "worst", "unit"]
        let rows = results.map { result -> [String] in
            if let rate = result.rate(result.median) {
                // The best rate comes from the shortest time.
                return [result.name, Decimal3.fixed(rate, places: 0), Decimal3.fixed(result.rate(result.min)!, places: 0),
                        Decimal3.fixed(result.rate(result.max)!, places: 0), "MB/s"]
            }
            return [result.name, Decimal3.fixed(result.median, places: 1), Decimal3.fixed(result.min, places: 1),
                    Decimal3.fixed(result.max, places: 1), "ns/op"]
        }
        let note = "\(runner.repetitions) repetitions of about \(Decimal3.text(runner.repetitionTime)) s each; best and worst are the fastest and slowest repetition."
        return TextTable(header: header, rows: rows, rightAligned: [1, 2, 3]).render() + "\n" + note
    }

    static func jsonText(_ results: [MicroResult], _ runner: MicroRunner) -> String {
        var object = JSONObject()
        object.add("repetitions", runner.repetitions)
        object.add("repetition_s", runner.repetitionTime)
        object.add("benchmarks", array: results.map { result in
            var entry = JSONObject()
            entry.add("name", result.name)
            entry.add("iterations", result.iterations)
            entry.add("ns_per_op_median", result.median)
            entry.add("ns_per_op_min", result.min)
            entry.add("ns_per_op_max", result.max)
            entry.add("mb_per_s_median", result.rate(result.median))
            return entry
        })
        return object.text
    }
}

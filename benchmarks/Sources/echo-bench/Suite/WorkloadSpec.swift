/// The suite's `--workload KEY=VALUE,...` specs (the defaults are the presets').
enum WorkloadSpec {
    /// `mode=stream,conns=10,size=64KiB,depth=1,window=256KiB,framing=line`: keys in any order,
    /// the rest default.
    static func parse(_ text: String) throws(UsageError) -> Workload {
        var workload = Workload()
        let keys = ["mode", "conns", "size", "depth", "window", "framing"]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, keys.contains(parts[0]) else {
                throw UsageError("Invalid workload '\(text)': '\(pair)' is not KEY=VALUE with KEY one of \(keys.joined(separator: ", ")).")
            }
            let (key, value) = (parts[0], parts[1])
            func bad(_ expectation: String) -> UsageError {
                UsageError("Invalid workload '\(text)': \(key) must be \(expectation), not '\(value)'.")
            }
            switch key {
            case "mode":
                guard let mode = Workload.Mode(rawValue: value) else { throw bad("pingpong or stream") }
                workload.mode = mode
            case "framing":
                guard let framing = Workload.Framing(rawValue: value) else { throw bad("raw, line or length") }
                workload.framing = framing
            case "conns":
                guard let conns = Int(value), (1...100_000).contains(conns) else { throw bad("from 1 to 100000") }
                workload.conns = conns
            case "depth":
                guard let depth = Int(value), (1...4096).contains(depth) else { throw bad("from 1 to 4096") }
                workload.depth = depth
            case "size":
                guard let size = ByteCount.parse(value), (1...(16 << 20)).contains(size) else { throw bad("a byte count from 1 to 16 MiB") }
                workload.size = size
            default:
                guard let window = ByteCount.parse(value), window >= 1 else { throw bad("a positive byte count") }
                workload.window = window
            }
        }
        return workload
    }
}

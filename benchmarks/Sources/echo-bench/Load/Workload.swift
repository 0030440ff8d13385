import cbench

/// One load to put on a server: the traffic shape and the timing of the run.
struct Workload: Sendable, Equatable {
    enum Mode: String, Sendable { case pingpong, stream }
    enum Framing: String, Sendable { case raw, line, length }
    /// What the server should answer: the message itself, or its letters upper-cased.
    enum Expectation: String, Sendable { case echo, upper }

    var mode = Mode.pingpong
    var framing = Framing.raw
    var expectation = Expectation.echo
    var conns = 100
    /// Payload bytes per message (stream: per chunk).
    var size = 1024
    /// Ping-pong: messages in flight per connection.
    var depth = 1
    /// Stream: bytes in flight per connection; nil means 4 messages' worth.
    var window: Int?
    var warmup = 1.0
    var duration = 5.0
    var connectTimeout = 10.0
    var connectConcurrency = 0
    var drain = 2.0
    var seed: UInt64 = 1

    /// A short name for tables: `c100 s1024`, `c10 s64 d8`, `stream c10 s65536`.
    var name: String {
        var parts = mode == .stream ? ["stream"] : []
        parts += ["c\(conns)", "s\(size)"]
        if mode == .pingpong, depth > 1 { parts.append("d\(depth)") }
        if framing != .raw { parts.append(framing.rawValue) }
        return parts.joined(separator: " ")
    }

    var coreConfig: cb_load_config {
        var config = cb_load_config()
        cb_load_config_init(&config)
        config.conns = Int32(conns)
        config.size = size
        config.depth = Int32(depth)
        config.window = window ?? 4 * size
        config.mode = mode == .stream ? CB_MODE_STREAM : CB_MODE_PINGPONG
        switch framing {
        case .raw: config.framing = CB_FRAMING_RAW
        case .line: config.framing = CB_FRAMING_LINE
        case .length: config.framing = CB_FRAMING_LENGTH
        }
        config.expect = expectation == .upper ? CB_EXPECT_UPPER : CB_EXPECT_ECHO
        config.warmup_s = warmup
        config.duration_s = duration
        config.connect_timeout_s = connectTimeout
        config.connect_concurrency = Int32(connectConcurrency)
        config.drain_s = drain
        config.seed = seed
        return config
    }
}

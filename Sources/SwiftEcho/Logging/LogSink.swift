/// Where finished log lines go. Implementations must accept lines from any thread and keep
/// each line whole.
public protocol LogSink: Sendable {
    /// Writes one finished line; `line` has no final newline, the sink adds what it needs.
    /// `record` is the event the line was made from, for sinks that keep structure (tests).
    func emit(line: String, record: LogRecord)
}

/// Writes log events for one component, in the manner of swift-log's `Logger`.
///
/// ```swift
/// var logger = Logger(label: "echo-cli", logLevel: configuration.logLevel,
///                     format: configuration.logFormat)
/// logger[metadataKey: "listener"] = "127.0.0.1:10000"
/// logger.info("closing connection", metadata: ["conn.id": "\(id)"])
/// ```
///
/// A disabled level costs one comparison: the message and metadata autoclosures are not run.
public struct Logger: Sendable {
    /// Metadata values are plain strings; keys use dot notation (`conn.id`, `peer.address`).
    public typealias Metadata = [String: String]

    /// The component that logs, printed on every line (`echo-cli`).
    public let label: String
    /// The least severe level that is written.
    public var logLevel: LogLevel
    /// How lines are written.
    public var format: LogFormat
    /// Metadata written with every event; an event's own metadata wins on the same key.
    public var metadata: Metadata
    /// Where finished lines go.
    public var sink: any LogSink

    /// A logger writing `format` lines at `logLevel` and above to `sink` (standard error unless
    /// told otherwise).
    public init(
        label: String, logLevel: LogLevel = .info, format: LogFormat = .text,
        metadata: Metadata = [:], sink: any LogSink = StandardErrorSink()
    ) {
        self.label = label
        self.logLevel = logLevel
        self.format = format
        self.metadata = metadata
        self.sink = sink
    }

    /// One entry of the logger-wide ``metadata``; nil removes it.
    public subscript(metadataKey key: String) -> String? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Whether an event at `level` would be written. Callers that build costly messages by
    /// hand (such as the C bridge) check this first.
    @inlinable
    public func isEnabled(_ level: LogLevel) -> Bool {
        level >= logLevel
    }

    /// Writes an event if `level` is enabled; the message and metadata are only evaluated then.
    public func log(
        level: LogLevel, _ message: @autoclosure () -> String,
        metadata: @autoclosure () -> Metadata = [:]
    ) {
        guard isEnabled(level) else { return }
        write(level: level, message: message(), metadata: metadata())
    }

    /// Writes an event whose message and metadata are already built (from the C core's log
    /// callback, say) if `level` is enabled.
    public func log(level: LogLevel, message: String, metadata: Metadata) {
        guard isEnabled(level) else { return }
        write(level: level, message: message, metadata: metadata)
    }

    /// Logs at ``LogLevel/trace``; see ``log(level:_:metadata:)``.
    public func trace(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(level: .trace, message(), metadata: metadata())
    }

    /// Logs at ``LogLevel/debug``; see ``log(level:_:metadata:)``.
    public func debug(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(level: .debug, message(), metadata: metadata())
    }

    /// Logs at ``LogLevel/info``; see ``log(level:_:metadata:)``.
    public func info(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(level: .info, message(), metadata: metadata())
    }

    /// Logs at ``LogLevel/notice``; see ``log(level:_:metadata:)``.
    public func notice(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(level: .notice, message(), metadata: metadata())
    }

    /// Logs at ``LogLevel/warning``; see ``log(level:_:metadata:)``.
    public func warning(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(level: .warning, message(), metadata: metadata())
    }

    /// Logs at ``LogLevel/error``; see ``log(level:_:metadata:)``.
    public func error(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(level: .error, message(), metadata: metadata())
    }

    /// Logs at ``LogLevel/critical``; see ``log(level:_:metadata:)``.
    public func critical(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(level: .critical, message(), metadata: metadata())
    }

    private func write(level: LogLevel, message: String, metadata eventMetadata: Metadata) {
        let merged = eventMetadata.isEmpty
            ? metadata : metadata.merging(eventMetadata) { _, event in event }
        let record = LogRecord(
            timestamp: .now(), level: level, label: label, message: message, metadata: merged)
        sink.emit(line: record.formatted(as: format), record: record)
    }
}

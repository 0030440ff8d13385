/// One log event, complete: what a ``LogSink`` formats or stores.
public struct LogRecord: Sendable, Equatable {
    /// When the event was logged.
    public var timestamp: LogTimestamp
    /// How severe it is.
    public var level: LogLevel
    /// The logger's label.
    public var label: String
    /// What happened, in words.
    public var message: String
    /// The logger's metadata merged with the call's (the call wins).
    public var metadata: Logger.Metadata

    /// A record with the given fields.
    public init(timestamp: LogTimestamp, level: LogLevel, label: String, message: String, metadata: Logger.Metadata) {
        self.timestamp = timestamp
        self.level = level
        self.label = label
        self.message = message
        self.metadata = metadata
    }

    /// The record as one line in `format`, without the final newline.
    public func formatted(as format: LogFormat) -> String {
        switch format {
        case .text: TextLogFormatter.line(for: self)
        case .json: JSONLogFormatter.line(for: self)
        }
    }
}

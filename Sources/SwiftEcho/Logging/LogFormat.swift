/// How a log record is written as a line.
public enum LogFormat: String, CaseIterable, Sendable {
    /// `2026-11-27T04:15:41.123Z info echo-cli: conn.id=7 closing connection`, for people.
    case text
    /// One JSON object per line, for log collectors.
    case json
}

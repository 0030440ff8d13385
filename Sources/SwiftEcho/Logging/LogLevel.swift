/// How severe a log event is, least severe first; named as in swift-log.
public enum LogLevel: String, CaseIterable, Comparable, Sendable {
    /// Step-by-step detail, e.g. every readiness event.
    case trace
    /// Detail useful when investigating, e.g. every connection opened and closed.
    case debug
    /// Normal operation worth a line, e.g. the server is listening. The default.
    case info
    /// Normal but significant, e.g. a limit was reached.
    case notice
    /// Something went wrong for one connection or one request.
    case warning
    /// Something went wrong for the server, which carries on.
    case error
    /// The server cannot carry on.
    case critical

    private var severity: Int {
        switch self {
        case .trace: 0
        case .debug: 1
        case .info: 2
        case .notice: 3
        case .warning: 4
        case .error: 5
        case .critical: 6
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool {
        lhs.severity < rhs.severity
    }
}

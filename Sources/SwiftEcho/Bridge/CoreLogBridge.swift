import cecho

/// Carries core log events into a `Logger`. The core checks the level before it formats
/// anything, so only enabled events cross into Swift. A reload may replace the logger (its
/// level and format) while the loop runs.
final class CoreLogBridge: Sendable {
    private let current: Locked<Logger>

    init(logger: Logger) {
        current = Locked(logger)
    }

    var logger: Logger {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}

/// The `ce_log_fn` the core calls, on the loop's thread. Non-capturing, as C requires: the
/// logger comes back from the context pointer.
let coreLogTrampoline: ce_log_fn = { context, level, message, fields, count in
    guard let context, let message else { return }
    let bridge = Unmanaged<CoreLogBridge>.fromOpaque(context).takeUnretainedValue()
    var metadata = Logger.Metadata()
    if let fields {
        for field in UnsafeBufferPointer(start: fields, count: count) {
            guard let key = field.key, let value = field.value else { continue }
            metadata[String(cString: key)] = String(cString: value)
        }
    }
    bridge.logger.log(level: LogLevel(coreLevel: level), String(cString: message), metadata: metadata)
}

extension LogLevel {
    /// The core's name for this level.
    var coreLevel: ce_log_level {
        switch self {
        case .trace: CE_LOG_TRACE
        case .debug: CE_LOG_DEBUG
        case .info: CE_LOG_INFO
        case .notice: CE_LOG_NOTICE
        case .warning: CE_LOG_WARNING
        case .error: CE_LOG_ERROR
        case .critical: CE_LOG_CRITICAL
        }
    }

    init(coreLevel: ce_log_level) {
        switch coreLevel {
        case CE_LOG_TRACE: self = .trace
        case CE_LOG_DEBUG: self = .debug
        case CE_LOG_INFO: self = .info
        case CE_LOG_NOTICE: self = .notice
        case CE_LOG_WARNING: self = .warning
        case CE_LOG_ERROR: self = .error
        default: self = .critical
        }
    }
}

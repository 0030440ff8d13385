import cbench
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT, SIGTERM and SIGHUP while `load` or `suite` runs. The C handler only records the
/// first one; the engine ends its run soon after, and the suite stops the server it started,
/// reports what it measured and exits as a shell expects of a process the signal ended.
enum Interrupt {
    static func catchSignals() {
        if cb_catch_interrupts() != 0 {
            StandardError.line("echo-bench: cannot catch SIGINT/SIGTERM (\(String(cString: strerror(errno)))): an interrupt will end the run without a report")
        }
    }

    /// The signal caught so far, or nil.
    static var signal: Int32? {
        let caught = cb_interrupted()
        return caught == 0 ? nil : caught
    }

    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        default: "signal \(signal)"
        }
    }
}

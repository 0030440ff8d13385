#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A POSIX signal, by its number, with names for the ones a server cares about.
///
/// ```swift
/// for await signal in try ProcessSignal.stream(of: [.hangup]) {
///     logger.notice("received \(signal): reloading")
/// }
/// ```
public struct ProcessSignal: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The signal's number (`SIGTERM`...).
    public let rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// SIGTERM: what service managers and `kill` send to stop a process.
    public static let terminate = ProcessSignal(rawValue: SIGTERM)
    /// SIGINT: Ctrl-C in a terminal.
    public static let interrupt = ProcessSignal(rawValue: SIGINT)
    /// SIGHUP: by convention, "reload your configuration" for a daemon.
    public static let hangup = ProcessSignal(rawValue: SIGHUP)
    /// SIGUSR1: the daemon logs its counters.
    public static let userDefined1 = ProcessSignal(rawValue: SIGUSR1)
    /// SIGUSR2: free for an embedder's own use.
    public static let userDefined2 = ProcessSignal(rawValue: SIGUSR2)

    /// "SIGTERM", or "signal 34" for one without a name here.
    public var description: String {
        switch rawValue {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        case SIGUSR1: "SIGUSR1"
        case SIGUSR2: "SIGUSR2"
        case SIGQUIT: "SIGQUIT"
        case SIGWINCH: "SIGWINCH"
        case SIGURG: "SIGURG"
        default: "signal \(rawValue)"
        }
    }

    /// The exit status a shell reports for a process this signal ended: 128 + its number
    /// (130 for SIGINT, 143 for SIGTERM). What a daemon exits with when a signal stopped it
    /// at once.
    public var exitStatus: Int32 { 128 + rawValue }
}

/// Why signals could not be caught.
public struct SignalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed and the system's reason: "pipe(): Too many open files".
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

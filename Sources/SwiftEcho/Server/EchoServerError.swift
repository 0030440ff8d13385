/// Why a server could not start or stopped abnormally.
public enum EchoServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The platform has no such backend (kqueue on Linux, epoll on macOS).
    case backendUnavailable(String)
    /// A setting is out of range (a configuration built in code is checked like a parsed one).
    case invalidConfiguration(String)
    /// Resolving, binding or listening failed: the address asked for and the system's reason.
    case cannotListen(address: String, reason: String)
    /// The event loop could not be created or failed while running.
    case loopFailed(String)
    /// `start` or `run` was called on a server that already started.
    case alreadyStarted

    public var description: String {
        switch self {
        case .backendUnavailable(let name):
            "the \(name) backend is not available on this platform"
        case .invalidConfiguration(let message):
            message
        case .cannotListen(let address, let reason):
            "cannot listen on \(address): \(reason)"
        case .loopFailed(let reason):
            "event loop failed: \(reason)"
        case .alreadyStarted:
            "the server was already started"
        }
    }
}

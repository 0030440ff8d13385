/// The readiness-notification mechanism the event loop waits with.
///
/// Parsing accepts every name on every platform; whether this platform has the mechanism is
/// checked by ``Configuration/validate(availableBackends:)`` once the server knows.
public enum Backend: String, CaseIterable, Sendable {
    /// The best one this platform has: epoll on Linux, kqueue on BSD and macOS, poll elsewhere.
    case auto
    /// `select(2)`: everywhere, but only for descriptors below `FD_SETSIZE`.
    case select
    /// `poll(2)`: everywhere POSIX, no descriptor limit, linear cost per wait.
    case poll
    /// Linux `epoll(7)`.
    case epoll
    /// BSD and macOS `kqueue(2)`.
    case kqueue
}

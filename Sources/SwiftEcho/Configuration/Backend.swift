/// What the event loop waits with: a readiness mechanism, or Linux's completion queue.
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
    /// Linux `io_uring(7)`: the kernel receives into buffers of a shared pool and completes
    /// sends itself, one system call per loop turn for every connection (Linux 6.1 or later).
    case ioUring = "io_uring"
}

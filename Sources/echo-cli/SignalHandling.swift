import Synchronization
import SwiftEcho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The daemon's signals, handled on a thread of their own rather than in signal context, so
/// handling one may log and call into the server:
/// - SIGINT, SIGTERM: graceful stop; a second one stops at once.
/// - SIGUSR1: log the counters as one `stats` line.
///
/// `install()` blocks these signals before any other thread exists, so every thread inherits
/// the mask, and only the signal thread unblocks them. Their handler writes the number to a
/// pipe that the thread reads. Not `sigwait`: a thread in `sigwait` shows its signals as
/// unblocked, so on a crash Swift's backtracer picks SIGUSR1 to pause that thread, `sigwait`
/// takes it as a stats request, and the backtracer retries for 30 s before the process dies.
/// With a real handler, the backtracer's own SIGUSR1 handler (installed for the crash) runs.
final class SignalHandling: Sendable {
    private static let handled = [SIGINT, SIGTERM, SIGUSR1]

    private let server: EchoServer
    private let logger: Logger
    private let onGracefulStop: @Sendable () -> Void
    private let immediateExit = Atomic<Int32>(0)  // the second stop signal, 0 before one
    private let stopping = Atomic<Bool>(false)

    /// `onGracefulStop` runs on the signal thread when the first stop signal arrives, just
    /// before the server is asked to stop.
    init(server: EchoServer, logger: Logger, onGracefulStop: @escaping @Sendable () -> Void = {}) {
        self.server = server
        self.logger = logger
        self.onGracefulStop = onGracefulStop
    }

    /// The exit status a second signal asked for, nil when the stop was graceful.
    var interruptedStatus: Int32? {
        let signal = immediateExit.load(ordering: .relaxed)
        return signal == 0 ? nil : ExitCode.interrupted(by: signal)
    }

    /// Blocks the handled signals in the calling (main) thread and starts the thread that
    /// waits for them. Call before anything else starts a thread.
    func install() {
        var set = Self.signalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            logger.error("cannot create the signal pipe: SIGINT, SIGTERM and SIGUSR1 will be ignored")
            return
        }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        // A full pipe must never block the handler; a dropped byte is a signal already queued.
        _ = fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK)
        signalPipeReadEnd = ends[0]
        signalPipeWriteEnd = ends[1]
        for number in Self.handled { Self.forward(number) }

        let context = Unmanaged.passRetained(self).toOpaque()
#if canImport(Glibc)
        var thread = pthread_t()
#else
        var thread: pthread_t?
#endif
        let rc = pthread_create(&thread, nil, { context in
            Unmanaged<SignalHandling>.fromOpaque(context!).takeRetainedValue().waitForSignals()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<SignalHandling>.fromOpaque(context).release()
            logger.error("cannot start the signal thread: SIGINT, SIGTERM and SIGUSR1 will be ignored")
        }
    }

    private static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for number in handled { sigaddset(&set, number) }
        return set
    }

    /// Routes `number` to the handler that writes it to the pipe.
    private static func forward(_ number: Int32) {
        var action = sigaction()
#if canImport(Glibc)
        action.__sigaction_handler.sa_handler = writeSignalToPipe
#else
        action.__sigaction_u.__sa_handler = writeSignalToPipe
#endif
        sigfillset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(number, &action, nil)
    }

    private func waitForSignals() {
        var set = Self.signalSet()
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        while true {
            var byte: UInt8 = 0
            let count = read(signalPipeReadEnd, &byte, 1)
            if count < 0, errno == EINTR { continue }
            guard count == 1 else { return }
            let number = Int32(byte)
            if number == SIGUSR1 {
                logger.notice("stats", metadata: server.stats.metadata)
            } else {
                onStop(number)
            }
        }
    }

    private func onStop(_ number: Int32) {
        if !stopping.exchange(true, ordering: .relaxed) {
            logger.notice("received \(signalName(number)): stopping gracefully",
                          metadata: ["shutdown.timeout": server.configuration.loggingMetadata["shutdown-timeout"] ?? "?"])
            onGracefulStop()
            server.stop(graceful: true)
            return
        }
        immediateExit.store(number, ordering: .relaxed)
        logger.notice("received \(signalName(number)) again: stopping now")
        server.stop(graceful: false)
    }

    private func signalName(_ number: Int32) -> String {
        switch number {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGUSR1: "SIGUSR1"
        default: "signal \(number)"
        }
    }
}

/// The pipe between the signal handler and the signal thread: set once, before the handler is
/// installed, and only read after.
nonisolated(unsafe) private var signalPipeReadEnd: Int32 = -1
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// The handler: async-signal-safe, it only writes the signal's number and keeps errno.
private let writeSignalToPipe: @convention(c) (Int32) -> Void = { number in
    let savedErrno = errno
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(signalPipeWriteEnd, &byte, 1)
    errno = savedErrno
}

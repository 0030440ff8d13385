import Synchronization
import SwiftEcho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The daemon's signals, received by `sigwait` on a thread of their own rather than in
/// signal context, so handling one may log and call into the server:
/// - SIGINT, SIGTERM: graceful stop; a second one stops at once.
/// - SIGUSR1: log the counters as one `stats` line.
///
/// `install()` blocks these signals before any other thread exists, so every thread
/// inherits the mask and only the waiting thread ever sees them.
final class SignalHandling: Sendable {
    private static let handled = [SIGINT, SIGTERM, SIGUSR1]

    private let server: EchoServer
    private let logger: Logger
    private let immediateExit = Atomic<Int32>(0)  // the second stop signal, 0 before one
    private let stopping = Atomic<Bool>(false)

    init(server: EchoServer, logger: Logger) {
        self.server = server
        self.logger = logger
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
            logger.error("cannot start the signal thread: signals will not stop the server gracefully")
        }
    }

    private static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for number in handled { sigaddset(&set, number) }
        return set
    }

    private func waitForSignals() {
        var set = Self.signalSet()
        while true {
            var number: Int32 = 0
            guard sigwait(&set, &number) == 0 else { continue }
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

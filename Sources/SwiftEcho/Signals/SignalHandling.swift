#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A daemon's signals for one server, as `echo-cli` handles them:
/// - a stop signal (SIGTERM, SIGINT): graceful stop; the same signal again within
///   ``sameRequestWindow`` is the same request, and any stop signal after that stops at once;
/// - a stats signal (SIGUSR1): the counters as one `stats` line at `notice`;
/// - SIGHUP: `onHangup`, where given (else SIGHUP keeps its default, which ends the process).
///
/// ```swift
/// let server = EchoServer(configuration: configuration)
/// let signals = SignalHandling(server: server)
/// try signals.install()         // first thing: threads started later inherit the mask
/// try await server.run()
/// exit(signals.immediateStop?.exitStatus ?? 0)
/// ```
///
/// Each signal is handled on the library's signal thread (its handler only writes to a pipe
/// that thread reads), one at a time, so `onHangup` and `onGracefulStop` may log, lock and
/// call into the server; they hold up the next signal while they run.
public final class SignalHandling: Sendable {
    /// A repeat of the first stop signal sooner than this after it is the same request:
    /// a supervisor such as GNU `timeout` signals the process and then its process group,
    /// so one stop arrives twice within a millisecond, and must not become an immediate stop.
    public static let sameRequestWindow = Duration.milliseconds(200)

    public let server: EchoServer
    public let stopSignals: Set<ProcessSignal>
    public let statsSignals: Set<ProcessSignal>
    private let onHangup: (@Sendable () -> Void)?
    private let onGracefulStop: @Sendable (ProcessSignal) -> Void

    private struct State {
        var subscription: UInt64?
        /// The signal that started the graceful stop, and when it arrived (monotonic ns).
        var firstStop: (signal: ProcessSignal, at: UInt64)?
        var immediateStop: ProcessSignal?
    }

    private let state = Locked(State())

    /// Handling for `server`: `stopOn` stops it, `statsOn` logs its counters, SIGHUP calls
    /// `onHangup` if given. `onGracefulStop` runs when the first stop signal arrives, just
    /// before the server is asked to stop (the moment to tell a service manager).
    public init(server: EchoServer,
                stopOn: Set<ProcessSignal> = [.terminate, .interrupt],
                statsOn: Set<ProcessSignal> = [.userDefined1],
                onHangup: (@Sendable () -> Void)? = nil,
                onGracefulStop: @escaping @Sendable (ProcessSignal) -> Void = { _ in }) {
        self.server = server
        stopSignals = stopOn
        statsSignals = statsOn
        self.onHangup = onHangup
        self.onGracefulStop = onGracefulStop
    }

    /// The signals handled: stop, stats, and SIGHUP with an `onHangup`.
    public var handledSignals: Set<ProcessSignal> {
        stopSignals.union(statsSignals).union(onHangup == nil ? [] : [.hangup])
    }

    /// Starts handling. The handled signals are blocked in the calling thread first, so call
    /// this before anything starts a thread (first thing in `main`): the threads started
    /// later (the server's loops) inherit the mask, and only the signal thread takes the
    /// signals. A child process spawned from such a thread inherits the mask too, unless
    /// the spawn resets it (`posix_spawnattr_setsigmask`). Calling it again does nothing.
    public func install() throws(SignalError) {
        try state.withLock { (state: inout State) throws(SignalError) in
            guard state.subscription == nil else { return }
            var set = sigset_t()
            sigemptyset(&set)
            for signal in handledSignals { sigaddset(&set, signal.rawValue) }
            var before = sigset_t()
            pthread_sigmask(SIG_BLOCK, &set, &before)
            do throws(SignalError) {
                state.subscription = try SignalDispatcher.shared.subscribe(handledSignals) { [self] signal, at in
                    handle(signal, arrivedAt: at)
                }
            } catch {
                pthread_sigmask(SIG_SETMASK, &before, nil)  // nothing takes them: leave them deliverable
                throw error
            }
        }
    }

    /// Stops handling: each signal gets back what it did before `install` (one already on
    /// its way may still be handled).
    public func cancel() {
        if let id = state.withLock({ state in defer { state.subscription = nil }; return state.subscription }) {
            SignalDispatcher.shared.unsubscribe(id)
        }
    }

    /// The stop signal that stopped the server at once, nil while the stop was graceful: a
    /// daemon exits with its ``ProcessSignal/exitStatus``.
    public var immediateStop: ProcessSignal? {
        state.withLock { $0.immediateStop }
    }

    private func handle(_ signal: ProcessSignal, arrivedAt: UInt64) {
        if stopSignals.contains(signal) {
            stop(signal, arrivedAt: arrivedAt)
        } else if statsSignals.contains(signal) {
            server.logger.notice("stats", metadata: server.stats.metadata)
        } else if signal == .hangup, let onHangup {
            onHangup()
        }
    }

    private enum Decision { case graceful, sameRequest, immediate, alreadyImmediate }

    private func stop(_ signal: ProcessSignal, arrivedAt: UInt64) {
        let window = UInt64(Self.sameRequestWindow.roundedUpMilliseconds) * 1_000_000
        let decision = state.withLock { state -> Decision in
            guard let first = state.firstStop else {
                state.firstStop = (signal, arrivedAt)
                return .graceful
            }
            if state.immediateStop != nil { return .alreadyImmediate }
            if signal == first.signal, arrivedAt < first.at &+ window { return .sameRequest }
            state.immediateStop = signal
            return .immediate
        }
        let logger = server.logger
        switch decision {
        case .graceful:
            logger.notice("received \(signal): stopping gracefully",
                          metadata: ["shutdown.timeout": server.configuration.loggingMetadata["shutdown-timeout"] ?? "?"])
            onGracefulStop(signal)
            server.stop(graceful: true)
        case .sameRequest:
            logger.debug("received \(signal) again within \(Self.sameRequestWindow): the same stop request")
        case .immediate:
            logger.notice("received \(signal) again: stopping now")
            server.stop(graceful: false)
        case .alreadyImmediate:
            break
        }
    }
}

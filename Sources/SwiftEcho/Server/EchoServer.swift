import Dispatch
import cecho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP echo server: every byte a client sends comes back on the same connection.
///
/// The sockets, the event loop and the echo itself run in the C core; this type configures
/// it, starts it on a thread of its own (`start`) or the caller's (`run`), stops it, and
/// reports where it listens and what it has counted. All methods are safe from any thread.
///
/// ```swift
/// var configuration = Configuration()
/// configuration.port = 0                       // any free port
/// let server = EchoServer(configuration: configuration)
/// try server.start()
/// print(server.localAddresses)                 // [127.0.0.1:41234]
/// server.stop()                                // graceful: flush, close, within the deadline
/// server.wait()
/// ```
public final class EchoServer: Sendable {
    public let configuration: Configuration
    public let logger: Logger
    /// What answers each message.
    public let hook: Hook

    private enum Phase {
        case idle, starting
        case running(CoreLoop)
        case stopped
    }

    private struct State {
        var phase = Phase.idle
        var pendingStop: Bool?  // a stop (graceful?) asked for before the loop existed
        var addresses: [ListeningAddress] = []
        var backend: String?
        var finalStats = ServerStats()
        var failure: EchoServerError?
        /// The Unix socket files still to remove.
        var socketFiles: [UnixSocketFile] = []

        /// Removes the socket files once, as the stop is asked for: while our listeners are
        /// still open their files cannot have been replaced by one that reuses the inode
        /// number, and a successor may bind at once instead of finding a stale file.
        mutating func removeSocketFiles() {
            socketFiles.forEach { $0.remove() }
            socketFiles = []
        }
    }

    private let state = Locked(State())
    private let finished = DispatchGroup()

    /// A server answering with `hook`, or, without one, with the configuration's built-in hook
    /// (the echo by default).
    public init(configuration: Configuration, hook: Hook? = nil, logger: Logger = Logger(label: "SwiftEcho")) {
        self.configuration = configuration
        self.hook = hook ?? Hook(configuration.hook)
        self.logger = logger
    }

    /// Binds the listeners and serves on a new thread. Returns once connections can be
    /// accepted, so `localAddresses` is ready.
    public func start() throws(EchoServerError) {
        let loop = try prepare()
        finished.enter()
        let started = LoopThread.start { [self] in
            serve(loop)
            finished.leave()
        }
        if !started {
            finish(loop, failure: .loopFailed("cannot create a thread for the event loop"))
            finished.leave()
            throw .loopFailed("cannot create a thread for the event loop")
        }
    }

    /// Binds the listeners and serves on the calling thread until the server has stopped.
    public func run() throws(EchoServerError) {
        let loop = try prepare()
        finished.enter()
        serve(loop)
        finished.leave()
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// Asks the server to stop. Graceful (the default): listeners close at once, each
    /// connection gets every byte already read, then closes cleanly; connections still open
    /// at the shutdown timeout are closed. Not graceful: everything closes now.
    /// Returns at once; `wait()` waits for the end.
    public func stop(graceful: Bool = true) {
        state.withLock { state in
            switch state.phase {
            case .running(let loop):
                state.removeSocketFiles()
                loop.requestStop(graceful: graceful)
            case .idle, .starting: state.pendingStop = (state.pendingStop ?? true) && graceful
            case .stopped: break
            }
        }
    }

    /// Waits until a started server has stopped (returns at once if it never started).
    public func wait() {
        finished.wait()
    }

    /// Where the server listens (real ports, also for port 0). Empty before `start`.
    public var localAddresses: [ListeningAddress] {
        state.withLock { $0.addresses }
    }

    /// The backend in use ("epoll" when `auto` chose it); nil before `start`.
    public var backend: String? {
        state.withLock { $0.backend }
    }

    /// The counters now (while running) or at the end (once stopped).
    public var stats: ServerStats {
        state.withLock { state in
            if case .running(let loop) = state.phase { return loop.stats }
            return state.finalStats
        }
    }

    /// Everything before the loop runs: the loop itself, the limits, the listeners.
    private func prepare() throws(EchoServerError) -> CoreLoop {
        try state.withLock { (state: inout State) throws(EchoServerError) in
            guard case .idle = state.phase else { throw .alreadyStarted }
            state.phase = .starting
        }
        do {
            let (loop, listeners) = try makeLoop()
            state.withLock { state in
                state.phase = .running(loop)
                state.addresses = listeners.listeners.map(\.address)
                state.socketFiles = listeners.socketFiles
                state.backend = loop.backendName
                if let graceful = state.pendingStop {
                    state.removeSocketFiles()
                    loop.requestStop(graceful: graceful)
                }
            }
            return loop
        } catch {
            state.withLock { $0.phase = .idle }
            throw error
        }
    }

    private func makeLoop() throws(EchoServerError) -> (CoreLoop, ListenerSet) {
        let backend = configuration.backend.rawValue
        guard ce_backend_available(backend) != 0 else { throw .backendUnavailable(backend) }
        do {
            try configuration.validate(availableBackends: Backend.available)
        } catch {
            throw .invalidConfiguration(error.message)
        }
        let coreBackend = backend == "auto" ? String(cString: ce_backend_default()) : backend
        let maxConnections = ConnectionLimit.fit(configuration.maxConnections, backend: coreBackend, logger: logger)
        let loop: CoreLoop
        do {
            loop = try CoreLoop(configuration: configuration, backend: coreBackend,
                                maxConnections: maxConnections, hook: hook, logger: logger)
        } catch {
            throw .loopFailed(error.message)
        }
        let listeners = try ListenerSet.bind(configuration)
        for (index, listener) in listeners.listeners.enumerated() {
            do {
                try loop.addListener(listener.fd)  // the loop owns it now, even when this fails
            } catch {
                listeners.listeners[(index + 1)...].forEach { _ = close($0.fd) }
                listeners.removeSocketFiles()
                throw .cannotListen(address: listener.address.description, reason: error.message)
            }
        }
        for listener in listeners.listeners {
            logger.info("listening on \(listener.address), backend \(loop.backendName)",
                        metadata: ["backend": loop.backendName])
        }
        return (loop, listeners)
    }

    private func serve(_ loop: CoreLoop) {
        var failure: EchoServerError?
        do {
            try loop.run()
        } catch {
            logger.error("event loop failed: \(error.message)")
            failure = .loopFailed(error.message)
        }
        finish(loop, failure: failure)
    }

    /// Keeps the final counters, releases the loop (its descriptors close here) and removes the
    /// Unix socket files a stop did not already remove (the loop failed or never ran).
    private func finish(_ loop: CoreLoop, failure: EchoServerError?) {
        let final = loop.stats
        state.withLock { state in
            state.removeSocketFiles()
            state.phase = .stopped
            state.finalStats = final
            state.failure = failure
        }
    }
}

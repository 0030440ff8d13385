import Dispatch
import cecho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An echo server: every byte a client sends comes back on the same connection (TCP and Unix
/// sockets; each datagram too, with UDP on).
///
/// The sockets, the event loops and the echo itself run in the C core; this type configures
/// it, starts its loops on threads of their own (`start`) or on the caller's thread and
/// `threads - 1` more (`run`), stops them, and reports where it listens and what it has
/// counted (summed over its loops). All methods are safe from any thread.
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
    /// The settings in force: those given at init, with what ``reload(_:)`` changed since.
    public var configuration: Configuration { live.withLock { $0.configuration } }
    /// Where the server logs: the logger given at init, with the level and format a reload set.
    public var logger: Logger { live.withLock { $0.logger } }
    /// What answers each message.
    public let hook: Hook
    /// With several loops, one accepts on every listener and deals the connections to the
    /// loops in turn, even where each loop could have listeners of its own (SO_REUSEPORT):
    /// what macOS, Unix sockets and inherited sockets use, testable on Linux too.
    let handsOffConnections: Bool
    /// Sockets bound by someone else (a service manager) that the server serves instead of
    /// binding the configuration's addresses; empty to bind them.
    public let inheritedSockets: [SocketActivation.Socket]
    /// One executor per event loop, in loop order: each runs jobs on its loop's thread while
    /// the server runs (see ``LoopExecutor``). Async hooks run on their connection's.
    public let executors: [LoopExecutor]
    /// The tasks of async hooks still running: none outlives `run()`.
    let hookTasks = HookTasks()

    private enum Phase {
        case idle, starting
        case running(LoopGroup)
        case stopped
    }

    private struct State {
        var phase = Phase.idle
        var pendingStop: Bool?  // a stop (graceful?) asked for before the loops existed
        var addresses: [ListeningAddress] = []
        var udpAddresses: [ListeningAddress] = []
        var backend: String?
        var loopsRunning = 0
        var finalStats = ServerStats()
        var finalStatsPerLoop: [ServerStats] = []
        var failure: EchoServerError?
        /// The Unix socket files still to remove.
        var socketFiles: [UnixSocketFile] = []
        /// Serving `configuration.metrics`, from start until the last loop ends.
        var metrics: MetricsServer?
        /// A stop was asked for: the server is no longer ready (`/readyz` answers 503).
        var stopAsked = false
        /// A graceful stop is waiting out `configuration.drainDelay` (or has).
        var drainDelayStarted = false
        /// The listeners are closed, or closing: any drain delay is over.
        var closing = false

        /// Removes the socket files once, as the stop is asked for: while our listeners are
        /// still open their files cannot have been replaced by one that reuses the inode
        /// number, and a successor may bind at once instead of finding a stale file.
        mutating func removeSocketFiles() {
            socketFiles.forEach { $0.remove() }
            socketFiles = []
        }
    }

    private let state = Locked(State())
    /// What a reload may change; reloads themselves take turns (and wait for a start under way).
    let live: Locked<LiveSettings>
    let reloading = PThreadMutex()
    private let finished = DispatchGroup()
    private let readiness = Readiness()

    /// A server answering with `hook`, or, without one, with the configuration's built-in hook
    /// (the echo by default). With `inheritedSockets` (from ``SocketActivation``), it serves
    /// those, and owns them from `start` on, instead of binding the configuration's addresses.
    public convenience init(configuration: Configuration, hook: Hook? = nil,
                            logger: Logger = Logger(label: "SwiftEcho"),
                            inheritedSockets: [SocketActivation.Socket] = []) {
        self.init(configuration: configuration, hook: hook, logger: logger, handsOffConnections: false,
                  inheritedSockets: inheritedSockets)
    }

    init(configuration: Configuration, hook: Hook?, logger: Logger, handsOffConnections: Bool,
         inheritedSockets: [SocketActivation.Socket] = []) {
        live = Locked(LiveSettings(configuration: configuration, logger: logger))
        self.hook = hook ?? Hook(configuration.hook)
        self.handsOffConnections = handsOffConnections
        self.inheritedSockets = inheritedSockets
        executors = (0..<min(max(configuration.resolvedThreads, 1), Configuration.maxThreads)).map { _ in LoopExecutor() }
    }

    /// Binds the listeners and serves on new threads, one per loop. Returns once connections
    /// can be accepted, so `localAddresses` is ready.
    public func start() throws(EchoServerError) {
        let group = try prepare()
        try launch(group, loops: 0..<group.loops.count)
    }

    /// Binds the listeners and serves until every loop has stopped: after ``stop(graceful:)``,
    /// or once the calling task is cancelled, which stops gracefully (within the
    /// configuration's `shutdownTimeout`). The loops run on threads of their own, so no thread
    /// of Swift's task pool waits. A loop's failure is thrown, once every loop has stopped.
    /// ``waitUntilListening()`` tells another task when connections can be accepted.
    ///
    /// ```swift
    /// let server = EchoServer(configuration: configuration)
    /// let serving = Task { try await server.run() }
    /// print("listening on", try await server.waitUntilListening())
    /// serving.cancel()                   // a graceful stop; run() returns once drained
    /// ```
    public func run() async throws(EchoServerError) {
        let group = try prepare()
        try launch(group, loops: 0..<group.loops.count)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                finished.notify(queue: .global()) { continuation.resume() }
            }
        } onCancel: {
            stop(graceful: true)
        }
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// Waits until the server listens (``run()`` or ``start()`` has bound every listener and
    /// connections can be accepted) and returns ``localAddresses``. Throws the error the
    /// start failed with (an ``EchoServerError``), or `CancellationError` if the waiting task
    /// is cancelled first. Once the server has listened, it returns at once.
    public func waitUntilListening() async throws -> [ListeningAddress] {
        try await readiness.wait()
    }

    /// Binds the listeners and serves on the calling thread (and `threads - 1` new ones) until
    /// every loop has stopped. `onListening` runs on this thread once connections can be
    /// accepted (and `localAddresses` is ready): the moment to tell a service manager.
    @available(*, noasync, message: "blocks its thread until the server stops: use 'try await run()' in async code")
    public func run(onListening: () -> Void = {}) throws(EchoServerError) {
        let group = try prepare()
        finished.enter()
        do {
            try launch(group, loops: 1..<group.loops.count)
        } catch {
            loopEnded(group, failure: error)  // the first loop never ran
            finished.leave()
            throw error
        }
        onListening()
        serve(group, loop: 0)
        finished.leave()
        finished.wait()
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// Asks the server to stop, every loop. Graceful (the default): the server is no longer
    /// ready (``isReady``, `/readyz`) at once; after `configuration.drainDelay` (zero: at once)
    /// the listeners close, each connection gets every byte already read, then closes cleanly;
    /// connections still open at the shutdown timeout are closed. Not graceful: everything
    /// closes now, also during the drain delay. Returns at once; `wait()` waits for the end.
    public func stop(graceful: Bool = true) {
        enum Next { case closeNow, startDelay, awaitDelay }
        let delay = configuration.drainDelay
        let next = state.withLock { state -> Next in
            state.stopAsked = true
            guard graceful, delay > .zero, case .running = state.phase, !state.closing else { return .closeNow }
            if state.drainDelayStarted { return .awaitDelay }  // a repeated graceful stop
            state.drainDelayStarted = true
            return .startDelay
        }
        switch next {
        case .closeNow:
            closeAndDrain(graceful: graceful)
        case .startDelay:
            logger.notice("draining: not ready, the listeners close in \(ValueSyntax.formatSeconds(delay)) s")
            DispatchQueue.global().asyncAfter(deadline: .now() + delay.dispatchInterval) { [self] in
                closeAndDrain(graceful: true)
            }
        case .awaitDelay:
            break
        }
    }

    /// What a stop does once any drain delay is over.
    private func closeAndDrain(graceful: Bool) {
        state.withLock { state in
            state.stopAsked = true
            state.closing = true
            switch state.phase {
            case .running(let group):
                state.removeSocketFiles()
                group.requestStop(graceful: graceful)
            case .idle, .starting: state.pendingStop = (state.pendingStop ?? true) && graceful
            case .stopped: break
            }
        }
    }

    /// Waits until a started server has stopped, every loop (returns at once if it never
    /// started).
    @available(*, noasync, message: "blocks its thread until the server stops: use 'try await run()' in async code")
    public func wait() {
        finished.wait()
    }

    /// Whether the server accepts connections now: from `start` (or `run`) until a stop is
    /// asked for. What `/readyz` answers, so a balancer takes a draining server out.
    public var isReady: Bool {
        state.withLock { state in
            if case .running = state.phase { return !state.stopAsked }
            return false
        }
    }

    /// Where `/metrics`, `/livez` and `/readyz` are served (`configuration.metrics`, with the
    /// real port); nil without metrics, or before `start`.
    public var metricsAddress: ListeningAddress? {
        state.withLock { $0.metrics }?.address
    }

    /// Where the server listens (real ports, also for port 0). Empty before `start`.
    public var localAddresses: [ListeningAddress] {
        state.withLock { $0.addresses }
    }

    /// Where the server answers UDP: with `udp` on, the same addresses and ports as TCP; and
    /// any UDP socket a service manager passed in.
    public var udpAddresses: [ListeningAddress] {
        state.withLock { $0.udpAddresses }
    }

    /// The backend in use ("epoll" when `auto` chose it); nil before `start`.
    public var backend: String? {
        state.withLock { $0.backend }
    }

    /// The counters of every loop added up, now (while running) or at the end (once stopped).
    public var stats: ServerStats {
        var stats = state.withLock { state in
            if case .running(let group) = state.phase { return group.stats }
            return state.finalStats
        }
        live.withLock { stats.countReloads(of: $0) }
        return stats
    }

    /// The loops while they run, nil before and after.
    var runningLoops: LoopGroup? {
        state.withLock { state in
            if case .running(let group) = state.phase { return group }
            return nil
        }
    }

    /// Each loop's counters, in loop order: how the connections spread over the loops.
    var statsPerLoop: [ServerStats] {
        state.withLock { state in
            if case .running(let group) = state.phase { return group.statsPerLoop }
            return state.finalStatsPerLoop
        }
    }

    /// Everything before the loops run: the loops themselves, the limits, the listeners.
    private func prepare() throws(EchoServerError) -> LoopGroup {
        try state.withLock { (state: inout State) throws(EchoServerError) in
            guard case .idle = state.phase else { throw .alreadyStarted }
            state.phase = .starting
        }
        readiness.starting()
        do throws(EchoServerError) {
            // A reload waits for the whole start: once it runs, it finds the loops running.
            let (group, metrics) = try reloading.withLock { () throws(EchoServerError) in
                let (group, listeners) = try makeLoops()
                let metrics: MetricsServer?
                do throws(EchoServerError) {
                    metrics = try startMetricsServer()
                } catch {
                    listeners.removeSocketFiles()
                    throw error
                }
                state.withLock { state in
                    state.metrics = metrics
                    state.phase = .running(group)
                    state.addresses = listeners.listeners.filter { $0.kind != .udp }.map(\.address)
                    state.udpAddresses = listeners.listeners.filter { $0.kind == .udp }.map(\.address)
                    state.socketFiles = listeners.socketFiles
                    state.backend = group.backendName
                    state.loopsRunning = group.loops.count
                    if let graceful = state.pendingStop {
                        state.removeSocketFiles()
                        group.requestStop(graceful: graceful)
                    }
                }
                return (group, metrics)
            }
            if metrics != nil { finished.enter() }  // left once it has stopped, after the loops
            readiness.listening(localAddresses)
            return group
        } catch {
            state.withLock { $0.phase = .idle }
            readiness.failed(error)
            throw error
        }
    }

    private func makeLoops() throws(EchoServerError) -> (LoopGroup, ListenerSet) {
        let configuration = self.configuration, logger = self.logger  // one snapshot for the whole start
        let backend = configuration.backend.rawValue
        guard ce_backend_available(backend) != 0 else { throw .backendUnavailable(backend) }
        do {
            try configuration.validate(availableBackends: Backend.available)
        } catch {
            throw .invalidConfiguration(error.message)
        }
        let coreBackend = backend == "auto" ? String(cString: ce_backend_default()) : backend
        let count = executors.count  // as many loops as executors, however the CPU mask changed since init
        let maxConnections = ConnectionLimit.fit(configuration.maxConnections, backend: coreBackend,
                                                 loops: count, logger: logger)
        guard let budget = ConnectionBudget(max: maxConnections) else {
            throw .loopFailed("malloc(connection budget): out of memory")
        }
        var loops: [CoreLoop] = []
        do {
            // One policy for the process: per-address counts and UDP rates hold across loops.
            let servesUDP = configuration.udp || inheritedSockets.contains { $0.kind == .udp }
            let access = try CoreAccess(configuration: configuration, maxConnections: maxConnections,
                                        servesUDP: servesUDP)
            for index in 0..<count {
                loops.append(try CoreLoop(configuration: configuration, backend: coreBackend, budget: budget,
                                          hook: hook, access: access, executor: executors[index],
                                          tasks: hookTasks, logger: logger))
            }
        } catch {
            throw .loopFailed(error.message)
        }
        let group = LoopGroup(loops: loops)
        let listeners = try bindListeners(for: group)
        // Stream listeners first: the first line names a TCP address, which scripts and tests read.
        for listener in listeners.listeners where listener.kind != .udp {
            logger.info("listening on \(listener.address), backend \(group.backendName)",
                        metadata: ["backend": "\(group.backendName)", "threads": "\(count)"])
        }
        for listener in listeners.listeners where listener.kind == .udp {
            logger.info("listening on \(listener.address) (udp), backend \(group.backendName)",
                        metadata: ["backend": "\(group.backendName)", "transport": "udp"])
        }
        return (group, listeners)
    }

    /// Binds the listeners and gives them to the loops. Where the kernel balances a shared
    /// port (SO_REUSEPORT on Linux), every loop gets a TCP listener of its own on each address;
    /// otherwise, and for Unix sockets, the first loop takes the listener and hands each
    /// connection to the loops in turn. UDP sockets are the first loop's alone: datagrams are
    /// cheap to answer, the kernel would hash one source to one loop anyway, and a shared port
    /// would let any other process of the same user join it. The set returned is the first
    /// loop's: one entry per address, as logged.
    private func bindListeners(for group: LoopGroup) throws(EchoServerError) -> ListenerSet {
        let loops = group.loops
        // Inherited sockets are one per address, whatever the loops: the first one hands out.
        let sharedPort = loops.count > 1 && !handsOffConnections && inheritedSockets.isEmpty
            && ce_net_shared_port_balances() != 0
        let listeners = inheritedSockets.isEmpty
            ? try ListenerSet.bind(configuration, sharedPort: sharedPort)
            : try ListenerSet.adopt(inheritedSockets)
        // Stream listeners the kernel does not spread over the loops: the first loop deals.
        func handsOff(_ listener: BoundListener) -> Bool {
            loops.count > 1 && listener.kind != .udp && !(sharedPort && listener.kind == .tcp)
        }
        let handsOffAny = listeners.listeners.contains(where: handsOff)
        do throws(EchoServerError) {
            try give(listeners.listeners, to: loops[0], handOff: handsOff)
            if handsOffAny {
                do {
                    try loops[0].setHandOffGroup(loops)
                } catch {
                    throw .loopFailed(error.message)
                }
            }
            // The other loops join each TCP address the first one bound, on its port (which
            // port 0 picked).
            for loop in sharedPort ? Array(loops.dropFirst()) : [] {
                try give(listeners.bindSharedCopies(backlog: configuration.backlog), to: loop) { _ in false }
            }
        } catch {
            listeners.removeSocketFiles()
            throw error
        }
        return listeners
    }

    /// Hands `listeners` to `loop`, which owns each from then on, even when this fails (the
    /// ones not yet handed over are closed here); `handOff` says which it deals to the group.
    private func give(_ listeners: [BoundListener], to loop: CoreLoop,
                      handOff: (BoundListener) -> Bool) throws(EchoServerError) {
        for (index, listener) in listeners.enumerated() {
            do {
                if listener.kind == .udp {
                    try loop.addUDP(listener.fd)
                } else {
                    try loop.addListener(listener.fd, handOff: handOff(listener))
                }
            } catch {
                listeners[(index + 1)...].forEach { _ = close($0.fd) }
                throw .cannotListen(address: listener.address.description, reason: error.message)
            }
        }
    }

    /// Runs loops `indices` of `group` on threads of their own. If the system refuses a
    /// thread, every loop is stopped and the ones never started count as ended.
    private func launch(_ group: LoopGroup, loops indices: Range<Int>) throws(EchoServerError) {
        for index in indices {
            finished.enter()
            let started = LoopThread.start { [self] in
                serve(group, loop: index)
                finished.leave()
            }
            if !started {
                finished.leave()
                let failure = EchoServerError.loopFailed("cannot create a thread for an event loop")
                group.requestStop(graceful: false)
                for _ in index..<indices.upperBound { loopEnded(group, failure: failure) }
                throw failure
            }
        }
    }

    private func serve(_ group: LoopGroup, loop index: Int) {
        var failure: EchoServerError?
        do {
            try group.loops[index].run()
        } catch {
            logger.error("event loop failed: \(error.message)")
            failure = .loopFailed(error.message)
            group.requestStop(graceful: true)  // one service: the other loops end too
        }
        loopEnded(group, failure: failure)
    }

    /// One loop is done. After the last, keeps the final counters and removes the Unix socket
    /// files a stop did not already remove (a loop failed, or never ran); the loops (and their
    /// descriptors) go when the last thread lets go of the group.
    private func loopEnded(_ group: LoopGroup, failure: EchoServerError?) {
        let (last, metrics) = state.withLock { state -> (Bool, MetricsServer?) in
            state.loopsRunning -= 1
            if state.failure == nil { state.failure = failure }
            if failure != nil { state.removeSocketFiles() }
            guard state.loopsRunning == 0 else { return (false, nil) }
            state.removeSocketFiles()
            state.finalStats = group.stats
            state.finalStatsPerLoop = group.statsPerLoop
            state.phase = .stopped
            return (true, state.metrics)
        }
        guard last else { return }
        // The tasks of async hooks left (a datagram's, one that outlived its connection's
        // close) are cancelled now, and the server is finished once they have ended, or once
        // the shutdown timeout has passed for those that ignore their cancellation.
        hookTasks.cancelAll()
        finished.enter()
        hookTasks.whenNoneRun(within: configuration.shutdownTimeout) { [finished, logger] stillRunning in
            if stillRunning > 0 {
                logger.warning("\(stillRunning) async hook task(s) still running after the shutdown timeout: "
                               + "they ignore cancellation, and their replies go nowhere")
            }
            finished.leave()
        }
        // Serving until now (/readyz said 503 throughout the drain); the server is finished
        // once it has stopped too, so its port is free when wait() returns.
        if let metrics {
            metrics.stop()
            DispatchQueue.global().async { [finished] in
                metrics.wait()
                finished.leave()
            }
        }
    }
}

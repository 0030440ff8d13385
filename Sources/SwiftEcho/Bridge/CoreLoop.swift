import Dispatch
import cecho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one owner of a C `ce_loop`: every unsafe call into the core's loop API lives here,
/// so the rest of the Swift layer stays safe.
///
/// Thread rules come from the core: `run` on one thread; `requestStop` and `stats` from any
/// thread while the loop exists. `EchoServer` guarantees the loop is not destroyed while
/// another thread may still call those.
final class CoreLoop: @unchecked Sendable {
    private let raw: OpaquePointer
    private let logContext: Unmanaged<CoreLogBridge>
    private let hookContext: Unmanaged<HookBridge>?
    /// The cap this loop shares with the server's other loops: it must outlive the loop.
    let budget: ConnectionBudget
    /// The other loops a hand-off listener deals connections to: they must outlive this one.
    private var handOffTargets: [CoreLoop] = []
    /// Kept so that the shared policy outlives this loop (released after `ce_loop_destroy`).
    let access: CoreAccess?

    /// The thread in `run`, while there is one: a reload from it (a hook's) must not wait for
    /// the loop, which cannot turn while it waits.
    private let runner = Locked<pthread_t?>(nil)

    /// The backend the core actually chose ("epoll" for `auto` on Linux).
    let backendName: String
    /// Runs jobs on this loop's thread while it runs (elsewhere before and after).
    let executor: LoopExecutor

    /// A loop for `configuration`, on `backend` (a concrete name, not "auto"), taking its
    /// connections from `budget` (shared with the server's other loops), answering with `hook`,
    /// under the `access` policy (shared with them too).
    init(configuration settings: Configuration, backend: String, budget: ConnectionBudget, hook: Hook,
         access: CoreAccess? = nil, executor: LoopExecutor = LoopExecutor(), tasks: HookTasks = HookTasks(),
         logger: Logger) throws(CoreError) {
        let bridge = Unmanaged.passRetained(CoreLogBridge(logger: logger))
        let hookBridge = HookBridge(hook, tasks: tasks).map { Unmanaged.passRetained($0) }
        var callbacks = hookBridge.map { $0.takeUnretainedValue().callbacks(context: $0.toOpaque()) } ?? ce_hooks()
        let hasHooks = hookBridge != nil
        var config = ce_loop_config(settings, logLevel: logger.logLevel)
        config.budget = budget.raw
        config.framing = settings.framing.core
        config.log_fn = coreLogTrampoline
        config.log_ctx = bridge.toOpaque()
        config.access = access?.raw
        config.proxy_protocol = settings.proxyProtocol ? 1 : 0
        config.proxy_timeout_ms = settings.proxyTimeout.roundedUpMilliseconds
        config.time_hooks = settings.metrics != nil ? 1 : 0  // the histogram is for /metrics
        var made: OpaquePointer?
        let message = CoreError.capture { err, len in
            made = backend.withCString { name in
                config.backend = name
                return withUnsafePointer(to: &callbacks) { hooks in
                    config.hooks = hasHooks ? hooks : nil
                    return ce_loop_create(&config, err, len)  // copies the hooks
                }
            }
            return made == nil ? -1 : 0
        }
        guard let made else {
            bridge.release()
            hookBridge?.release()
            throw CoreError(message: message ?? "ce_loop_create failed")
        }
        raw = made
        self.budget = budget
        logContext = bridge
        hookContext = hookBridge
        self.access = access
        backendName = String(cString: ce_loop_backend(made))
        self.executor = executor
        executor.attach(made)
        hookBridge?.takeUnretainedValue().loop = self
    }

    deinit {
        executor.detach()
        ce_loop_destroy(raw)  // closes connections: their handlers hear about it first
        logContext.release()
        hookContext?.release()
    }

    /// Hands a listening descriptor to the loop, which owns it from then on. With `handOff`,
    /// the connections it accepts are dealt to the loops of ``setHandOffGroup(_:)`` in turn.
    func addListener(_ fd: Int32, handOff: Bool = false) throws(CoreError) {
        let message = CoreError.capture { err, len in
            handOff ? ce_loop_add_handoff_listener(raw, fd, err, len) : ce_loop_add_listener(raw, fd, err, len)
        }
        if let message { throw CoreError(message: message) }
    }

    /// The loops (this one among them, or not) that hand-off listeners deal connections to,
    /// in order. Before `run`.
    func setHandOffGroup(_ loops: [CoreLoop]) throws(CoreError) {
        var raws: [OpaquePointer?] = loops.map(\.raw)
        let message = CoreError.capture { err, len in ce_loop_set_group(raw, &raws, raws.count, err, len) }
        if let message { throw CoreError(message: message) }
        handOffTargets = loops.filter { $0 !== self }  // not self: that would be a cycle
    }

    /// Hands a bound UDP socket to the loop, which owns it from then on.
    func addUDP(_ fd: Int32) throws(CoreError) {
        if let message = CoreError.capture({ err, len in ce_loop_add_udp(raw, fd, err, len) }) {
            throw CoreError(message: message)
        }
    }

    /// Serves until stopped and drained.
    func run() throws(CoreError) {
        runner.withLock { $0 = pthread_self() }
        defer { runner.withLock { $0 = nil } }
        let message = executor.runningLoop { CoreError.capture { err, len in ce_loop_run(raw, err, len) } }
        if let message {
            throw CoreError(message: message)
        }
    }

    func requestStop(graceful: Bool) {
        ce_loop_stop(raw, graceful ? 1 : 0)
    }

    /// Hands deferred reply `deferral` of connection (`fd`, `id`) to the loop; safe from any
    /// thread. False when the loop took nothing (it has ended, or no memory).
    @discardableResult
    func postReply(fd: Int32, id: UInt64, deferral: UInt64, bytes: [UInt8], action: ce_action) -> Bool {
        bytes.withUnsafeBytes { buffer in
            ce_loop_post_reply(raw, fd, id, deferral, buffer.baseAddress, buffer.count, action) == 0
        }
    }

    /// Takes the reloadable settings of `configuration`, and `logger`, between two of the
    /// loop's turns. False when the loop has ended (or memory ran out).
    @discardableResult
    func apply(_ configuration: Configuration, logger: Logger) -> Bool {
        logContext.takeUnretainedValue().logger = logger
        var config = ce_loop_config(configuration, logLevel: logger.logLevel)
        return ce_loop_reconfigure(raw, &config) == 0
    }

    /// Waits, at most until `deadline`, until the loop has served what was posted to it
    /// before (a reload's settings: then they are in force). Returns at once on the loop's
    /// own thread, and once the loop has ended.
    func waitUntilServed(until deadline: DispatchTime) {
        if let thread = runner.withLock({ $0 }), pthread_equal(thread, pthread_self()) != 0 { return }
        let served = DispatchSemaphore(value: 0)
        let context = Unmanaged.passRetained(served)
        let posted = ce_loop_post_call(raw, { context in
            Unmanaged<DispatchSemaphore>.fromOpaque(context!).takeRetainedValue().signal()
        }, context.toOpaque())
        guard posted == 0 else {
            context.release()
            return
        }
        _ = served.wait(timeout: deadline)
    }

    /// The loop's counters now, as the core keeps them (a server sums its loops').
    var coreStats: ce_stats {
        var snapshot = ce_stats()
        ce_loop_stats(raw, &snapshot)
        return snapshot
    }
}

/// A failure the C core described in its "call(args): reason" form.
struct CoreError: Error {
    let message: String

    /// Runs `body` with an error buffer; returns the core's message when `body` returns -1.
    static func capture(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) -> String? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer -> String? in
            let base = buffer.baseAddress!
            base.initialize(to: 0)
            guard body(base, buffer.count) == -1 else { return nil }
            let text = String(cString: base)
            return text.isEmpty ? "unknown error" : text
        }
    }
}

extension ce_loop_config {
    /// The settings of `configuration` that a reload may change (``Configuration/reloadableSettings``
    /// as the loop knows them), everything else zero.
    init(_ configuration: Configuration, logLevel: LogLevel) {
        self.init()
        output_limit = configuration.outputLimit
        write_timeout_ms = configuration.writeTimeout.roundedUpMilliseconds
        idle_timeout_ms = configuration.idleTimeout.roundedUpMilliseconds
        shutdown_timeout_ms = configuration.shutdownTimeout.roundedUpMilliseconds
        max_message = configuration.maxMessage
        frame_timeout_ms = configuration.frameTimeout.roundedUpMilliseconds
        max_reply = configuration.maxReply
        slow_hook_ms = configuration.slowHook.roundedUpMilliseconds
        reply_timeout_ms = configuration.replyTimeout.roundedUpMilliseconds
        keepalive_s = configuration.keepalive.roundedUpSeconds
        log_level = logLevel.coreLevel
    }
}

extension Duration {
    /// Whole seconds, rounded up, for the kernel's keepalive options (at most UInt32.max).
    var roundedUpSeconds: UInt32 {
        UInt32(clamping: (roundedUpMilliseconds + 999) / 1000)
    }

    /// Whole milliseconds, rounded up so that a tiny positive timeout never turns into "off".
    var roundedUpMilliseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        let perMillisecond: Int64 = 1_000_000_000_000_000
        let millis = attoseconds / perMillisecond + (attoseconds % perMillisecond == 0 ? 0 : 1)
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1000)
        return overflow ? UInt64.max : whole &+ UInt64(millis)
    }
}

extension Framing {
    /// The core's name for this framing.
    var core: ce_framing {
        switch self {
        case .raw: CE_FRAMING_RAW
        case .line: CE_FRAMING_LINE
        case .length: CE_FRAMING_LENGTH
        }
    }
}

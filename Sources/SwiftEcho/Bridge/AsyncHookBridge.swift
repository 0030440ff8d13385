import cecho

// The C callbacks of an async hook (`Hook.async`, `Hook.asyncHandler`). Each message starts a
// task on the connection's loop executor, at once (`Task.immediate`): a hook that answers
// without suspending is answered in place, like a closure hook; one that suspends is answered
// later through the loop's posts, as a deferred reply is. Everything here runs on the loop's
// thread (the tasks' executor), except after the loop has ended, when the executor's
// fallback queue finishes what is left, one job at a time.

/// One connection of an async hook: what its messages are answered by, and the message in
/// flight (at most one: the core hands over the next once this one is answered). Nothing is
/// allocated per message here: a message's task refers to its connection and its deferral
/// number. `@unchecked Sendable`: touched only on the connection's loop executor.
final class AsyncConnection: @unchecked Sendable {
    enum Outcome {
        case reply(AsyncReply)
        case failure(any Error)
    }

    let connection: Connection
    let answer: @Sendable (AsyncMessage) async throws -> AsyncReply
    let handler: (any AsyncConnectionHandler)?
    private weak var loop: CoreLoop?
    /// The core's name for the connection, for posting replies.
    private let fd: Int32
    /// The deferral whose answer is awaited, 0 when none.
    private(set) var inFlight: UInt64 = 0
    /// The hook call is still under way: an outcome now is answered in place.
    private var callUnderWay = false
    private var inPlace: Outcome?
    /// The answer in flight will not be taken (`--reply-timeout` passed, or no sender waits for
    /// a datagram's): its task was cancelled.
    private var abandoned = false
    /// Why it closed, once it has.
    var closed: CloseReason?

    init(connection: Connection, fd: Int32, loop: CoreLoop?, body: AsyncHookBody) {
        self.connection = connection
        self.fd = fd
        self.loop = loop
        switch body {
        case .closure(let closure):
            answer = closure
            handler = nil
        case .handler(let make):
            let handler = make(connection)
            let unchecked = UncheckedHandler(handler: handler)
            answer = { message in try await unchecked.handler.messageReceived(message) }
            self.handler = handler
        }
    }

    /// Answers `message` (deferral number `deferral` should it be deferred): in place if the
    /// hook does not suspend, else later, by its task, which `tasks` then keeps.
    func receive(_ message: AsyncMessage, deferral: UInt64, executor: LoopExecutor?, tasks: HookTasks,
                 into core: OpaquePointer) -> ce_action {
        let body = answer
        callUnderWay = true
        let task = Task.immediate(executorPreference: executor) { [self] in
            let outcome: Outcome
            do {
                outcome = .reply(try await body(message))
            } catch {
                outcome = .failure(error)
            }
            finish(outcome, deferral: deferral, tasks: tasks)
        }
        callUnderWay = false
        if let outcome = inPlace {
            inPlace = nil
            return outcome.settle(core)
        }
        inFlight = deferral
        abandoned = false
        tasks.begin(self, task)
        return CE_ACTION_DEFER
    }

    private func finish(_ outcome: Outcome, deferral: UInt64, tasks: HookTasks) {
        guard !callUnderWay else {
            inPlace = outcome
            return
        }
        if inFlight == deferral { inFlight = 0 }
        // A closed connection wants nothing more (its task was cancelled); a datagram's reply
        // still goes to its sender.
        if !abandoned && (closed == nil || closed == .datagramAnswered) { post(outcome, deferral: deferral) }
        tasks.end(self)
    }

    /// An answer is in flight, and will be taken when it comes.
    var isAwaited: Bool { inFlight != 0 && !abandoned }

    /// The answer in flight will not be taken: cancel its task, and send nothing.
    func abandon(tasks: HookTasks) {
        guard inFlight != 0 else { return }
        abandoned = true
        tasks.cancel(self)
    }

    private func post(_ outcome: Outcome, deferral: UInt64) {
        let (bytes, action): ([UInt8], ce_action)
        switch outcome {
        case .reply(let reply):
            switch reply.action {
            case .send(.bytes(let payload), let thenClose):
                (bytes, action) = (payload, thenClose ? CE_ACTION_REPLY_AND_CLOSE : CE_ACTION_REPLY)
            case .send(.text(let text), let thenClose):
                (bytes, action) = (Array(text.utf8), thenClose ? CE_ACTION_REPLY_AND_CLOSE : CE_ACTION_REPLY)
            case .decline: (bytes, action) = ([], CE_ACTION_DECLINE)
            case .close: (bytes, action) = ([], CE_ACTION_CLOSE)
            }
        case .failure(let error):
            (bytes, action) = (Array(String(describing: error).utf8), CE_ACTION_FAIL)
        }
        loop?.postReply(fd: fd, id: connection.id, deferral: deferral, bytes: bytes, action: action)
    }
}

/// The datagrams of one loop whose async answers are awaited, oldest first. The core keeps at
/// most CE_UDP_PENDING senders waiting, reusing the entries of those that waited past
/// CE_UDP_PENDING_MS; so when more answers than that are awaited, the oldest can no longer go
/// out: it is abandoned and its task cancelled. A loop thus runs at most that many datagram
/// tasks, whatever its hook does. Only on the loop's thread.
final class AwaitedDatagrams {
    private var states: [AsyncConnection] = []

    func append(_ state: AsyncConnection, tasks: HookTasks) {
        states.append(state)
        guard states.count > Int(CE_UDP_PENDING) else { return }
        states.removeAll { !$0.isAwaited }
        if states.count > Int(CE_UDP_PENDING) { states.removeFirst().abandon(tasks: tasks) }
    }
}

/// A handler that is only called on its connection's loop executor.
private struct UncheckedHandler: @unchecked Sendable {
    let handler: any AsyncConnectionHandler
}

extension AsyncConnection.Outcome {
    /// Writes the outcome into the reply being built and returns the core's action.
    func settle(_ core: OpaquePointer) -> ce_action {
        switch self {
        case .reply(let reply):
            switch reply.action {
            case .send(let payload, let thenClose):
                switch payload {
                case .bytes(let bytes):
                    bytes.withUnsafeBytes { _ = ce_reply_write(core, $0.baseAddress, $0.count) }
                case .text(var text):
                    text.withUTF8 { _ = ce_reply_write(core, $0.baseAddress, $0.count) }
                }
                return thenClose ? CE_ACTION_REPLY_AND_CLOSE : CE_ACTION_REPLY
            case .decline: return CE_ACTION_DECLINE
            case .close: return CE_ACTION_CLOSE
            }
        case .failure(let error):
            ce_reply_fail(core, String(describing: error))
            return CE_ACTION_FAIL
        }
    }
}

/// `opened`: the connection's state, retained by the core until `closed`.
let asyncOpenedTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<ce_conn_info>?) -> UnsafeMutableRawPointer? = { context, info in
    guard let context, let info else { return nil }
    let bridge = Unmanaged<HookBridge>.fromOpaque(context).takeUnretainedValue()
    guard let body = bridge.asyncBody else { return nil }
    let connection = Connection(info.pointee)
    let state = AsyncConnection(connection: connection, fd: info.pointee.fd, loop: bridge.loop, body: body)
    state.handler?.connectionOpened(connection)
    return Unmanaged.passRetained(state).toOpaque()
}

/// `message`: the message, copied, to its connection's task.
let asyncMessageTrampoline: @convention(c) (
    UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, OpaquePointer?
) -> ce_action = { context, connectionContext, data, count, core in
    guard let context, let connectionContext, let core else { return CE_ACTION_FAIL }
    let bridge = Unmanaged<HookBridge>.fromOpaque(context).takeUnretainedValue()
    let state = Unmanaged<AsyncConnection>.fromOpaque(connectionContext).takeUnretainedValue()
    let message = AsyncMessage(bytes: Array(UnsafeRawBufferPointer(start: data, count: count)),
                               connection: state.connection)
    return state.receive(message, deferral: ce_reply_deferral(core), executor: bridge.executor, tasks: bridge.tasks,
                         into: core)
}

/// `closed`: cancel the task in flight (not a datagram's: its reply still goes out, while the
/// core keeps its sender), tell the handler, release the state.
let asyncClosedTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, ce_close_reason) -> Void = { context, connectionContext, reason in
    guard let context, let connectionContext else { return }
    let bridge = Unmanaged<HookBridge>.fromOpaque(context).takeUnretainedValue()
    let state = Unmanaged<AsyncConnection>.fromOpaque(connectionContext).takeRetainedValue()
    let why = CloseReason(reason)
    state.closed = why
    if why == .datagramAnswered {
        if state.isAwaited { bridge.awaitedDatagrams.append(state, tasks: bridge.tasks) }
    } else if state.inFlight != 0 {
        bridge.tasks.cancel(state)
    }
    state.handler?.connectionClosed(state.connection, reason: why)
}

/// `abandoned`: the reply passed `--reply-timeout`, or no sender waits for a datagram's (the
/// core's table was full); cancel its task, and send nothing.
let asyncAbandonedTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { context, connectionContext in
    guard let context, let connectionContext else { return }
    let bridge = Unmanaged<HookBridge>.fromOpaque(context).takeUnretainedValue()
    Unmanaged<AsyncConnection>.fromOpaque(connectionContext).takeUnretainedValue().abandon(tasks: bridge.tasks)
}

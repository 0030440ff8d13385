import cecho

// The C callbacks of an async hook (`Hook.async`, `Hook.asyncHandler`). Each message starts a
// task on the connection's loop executor, at once (`Task.immediate`): a hook that answers
// without suspending is answered in place, like a closure hook; one that suspends is answered
// later through the loop's posts, as a deferred reply is. Everything here runs on the loop's
// thread (the tasks' executor), except after the loop has ended, when the executor's
// fallback queue finishes what is left, one job at a time.

/// One connection of an async hook: what its messages are answered by, and the message in
/// flight. `@unchecked Sendable`: touched only on the connection's loop executor.
final class AsyncConnection: @unchecked Sendable {
    let connection: Connection
    let answer: @Sendable (AsyncMessage) async throws -> AsyncReply
    let handler: (any AsyncConnectionHandler)?
    /// The message whose answer is awaited (at most one: the core holds the next ones).
    var inFlight: AsyncAnswer?
    /// Why it closed, once it has.
    var closed: CloseReason?

    init(connection: Connection, body: AsyncHookBody) {
        self.connection = connection
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
}

/// A handler that is only called on its connection's loop executor.
private struct UncheckedHandler: @unchecked Sendable {
    let handler: any AsyncConnectionHandler
}

/// The answer to one message of an async hook, from the task that computes it: given in
/// place while the hook call is still under way, posted to the loop after that.
/// `@unchecked Sendable`: touched only on the connection's loop executor.
final class AsyncAnswer: @unchecked Sendable {
    enum Outcome {
        case reply(AsyncReply)
        case failure(any Error)
    }

    private weak var loop: CoreLoop?
    private let fd: Int32
    private let id: UInt64
    private let deferral: UInt64
    private let owner: AsyncConnection  // a cycle while in flight, broken by finish()
    /// The hook call has returned: an outcome now must be posted.
    var deferred = false
    /// The outcome, when it came before the hook call returned.
    var inPlace: Outcome?
    /// The loop will take no reply for it (`--reply-timeout` passed): its task was cancelled.
    var abandoned = false

    init(loop: CoreLoop?, fd: Int32, id: UInt64, deferral: UInt64, owner: AsyncConnection) {
        self.loop = loop
        self.fd = fd
        self.id = id
        self.deferral = deferral
        self.owner = owner
    }

    func finish(_ outcome: Outcome, tasks: HookTasks) {
        guard deferred else {
            inPlace = outcome
            return
        }
        if owner.inFlight === self { owner.inFlight = nil }
        // A closed connection wants nothing more (its task was cancelled); a datagram's reply
        // still goes to its sender.
        if !abandoned && (owner.closed == nil || owner.closed == .datagramAnswered) { post(outcome) }
        tasks.end(self)
    }

    private func post(_ outcome: Outcome) {
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
        loop?.postReply(fd: fd, id: id, deferral: deferral, bytes: bytes, action: action)
    }
}

extension AsyncAnswer.Outcome {
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
    guard let context, let info, let body = Unmanaged<HookBridge>.fromOpaque(context).takeUnretainedValue().asyncBody
    else { return nil }
    let connection = Connection(id: info.pointee.id, peerAddress: String(cString: info.pointee.peer),
                                localAddress: String(cString: info.pointee.local))
    let state = AsyncConnection(connection: connection, body: body)
    state.handler?.connectionOpened(connection)
    return Unmanaged.passRetained(state).toOpaque()
}

/// `message`: start the message's task; answer in place if it finished, else defer.
let asyncMessageTrampoline: @convention(c) (
    UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, OpaquePointer?
) -> ce_action = { context, connectionContext, data, count, core in
    guard let context, let connectionContext, let core else { return CE_ACTION_FAIL }
    let bridge = Unmanaged<HookBridge>.fromOpaque(context).takeUnretainedValue()
    let state = Unmanaged<AsyncConnection>.fromOpaque(connectionContext).takeUnretainedValue()
    let message = AsyncMessage(bytes: Array(UnsafeRawBufferPointer(start: data, count: count)),
                               connection: state.connection)
    let answer = AsyncAnswer(loop: bridge.loop, fd: ce_reply_conn_fd(core), id: ce_reply_conn_id(core),
                             deferral: ce_reply_deferral(core), owner: state)
    let body = state.answer, tasks = bridge.tasks
    let task = Task.immediate(executorPreference: bridge.loop?.executor) {
        let outcome: AsyncAnswer.Outcome
        do {
            outcome = .reply(try await body(message))
        } catch {
            outcome = .failure(error)
        }
        answer.finish(outcome, tasks: tasks)
    }
    if let outcome = answer.inPlace { return outcome.settle(core) }
    answer.deferred = true
    state.inFlight = answer
    tasks.begin(answer, task)
    return CE_ACTION_DEFER
}

/// `closed`: cancel the task in flight (not a datagram's: its reply still goes out), tell
/// the handler, release the state.
let asyncClosedTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, ce_close_reason) -> Void = { context, connectionContext, reason in
    guard let context, let connectionContext else { return }
    let bridge = Unmanaged<HookBridge>.fromOpaque(context).takeUnretainedValue()
    let state = Unmanaged<AsyncConnection>.fromOpaque(connectionContext).takeRetainedValue()
    let why = CloseReason(reason)
    state.closed = why
    if why != .datagramAnswered, let answer = state.inFlight { bridge.tasks.cancel(answer) }
    state.handler?.connectionClosed(state.connection, reason: why)
}

/// `abandoned`: the reply passed `--reply-timeout`; cancel its task, and send nothing.
let asyncAbandonedTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { context, connectionContext in
    guard let context, let connectionContext else { return }
    let bridge = Unmanaged<HookBridge>.fromOpaque(context).takeUnretainedValue()
    let state = Unmanaged<AsyncConnection>.fromOpaque(connectionContext).takeUnretainedValue()
    guard let answer = state.inFlight else { return }
    answer.abandoned = true
    bridge.tasks.cancel(answer)
}

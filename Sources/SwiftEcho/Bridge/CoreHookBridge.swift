import cecho

/// Carries the core's hook callbacks into a ``Hook``. Built only for hooks written in Swift:
/// the echo hook gives the core no callbacks, so the echo never leaves C.
///
/// `@unchecked Sendable`: created before the loop runs, then used only on the loop's thread
/// (the callbacks), except `loop`, which is set once before the loop runs.
final class HookBridge: @unchecked Sendable {
    let transform: Hook.Transform?
    let makeHandler: (@Sendable (Connection) -> any ConnectionHandler)?
    let asyncBody: AsyncHookBody?
    /// The server's record of its async hooks' tasks.
    let tasks: HookTasks
    /// The loop the callbacks come from, for deferred replies. Weak: the loop owns the bridge.
    weak var loop: CoreLoop? {
        didSet { executor = loop?.executor }
    }
    /// The loop's executor, where async hooks run (kept apart: no weak load per message).
    private(set) var executor: LoopExecutor?
    /// Async answers to datagrams still awaited. Only on the loop's thread.
    let awaitedDatagrams = AwaitedDatagrams()
    /// The deferred replies of closure and handler hooks still due, by connection id: told
    /// when they can no longer be sent. Only on the loop's thread.
    private var due: [UInt64: DeferralState] = [:]

    /// nil for the echo hook.
    init?(_ hook: Hook, tasks: HookTasks) {
        self.tasks = tasks
        switch hook.kind {
        case .echo: return nil
        case .transform(let transform): (self.transform, makeHandler, asyncBody) = (transform, nil, nil)
        case .handler(let make): (transform, makeHandler, asyncBody) = (nil, make, nil)
        case .async(let body): (transform, makeHandler, asyncBody) = (nil, nil, body)
        }
    }

    /// The C callbacks, with `context` (this bridge, retained by the loop) as their context.
    func callbacks(context: UnsafeMutableRawPointer) -> ce_hooks {
        var hooks = ce_hooks()
        hooks.ctx = context
        if asyncBody != nil {
            hooks.message = asyncMessageTrampoline
            hooks.opened = asyncOpenedTrampoline
            hooks.closed = asyncClosedTrampoline
            hooks.abandoned = asyncAbandonedTrampoline
            return hooks
        }
        hooks.message = coreMessageTrampoline
        hooks.opened = coreOpenedTrampoline
        hooks.closed = coreClosedTrampoline
        hooks.abandoned = coreAbandonedTrampoline
        return hooks
    }

    /// A hook deferred its reply on connection `id`.
    func deferred(_ state: DeferralState, connection id: UInt64) {
        due[id] = state
    }

    /// Connection `id` will take no deferred reply any more (it closed, or the reply timed
    /// out): its handle's completion would not be sent. Not for a datagram, whose reply still
    /// goes out when it comes.
    func abandonDeferral(connection id: UInt64, datagram: Bool = false) {
        guard let state = due.removeValue(forKey: id) else { return }
        if !datagram { state.abandon() }
    }

    /// The connection id behind a connection context: a handler hook's box, or the id itself.
    func connectionID(_ context: UnsafeMutableRawPointer) -> UInt64 {
        makeHandler == nil ? UInt64(UInt(bitPattern: context))
            : Unmanaged<ConnectionBox>.fromOpaque(context).takeUnretainedValue().connection.id
    }
}

/// One connection's handler, with what it was told about the connection.
final class ConnectionBox {
    let connection: Connection
    let handler: any ConnectionHandler

    init(connection: Connection, handler: any ConnectionHandler) {
        self.connection = connection
        self.handler = handler
    }
}

/// `opened`: make the connection's handler; the core keeps it (retained) until `closed`. A
/// closure hook's context is the connection id itself: nothing is allocated.
let coreOpenedTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<ce_conn_info>?) -> UnsafeMutableRawPointer? = { context, info in
    guard let context, let info else { return nil }
    guard let make = Unmanaged<HookBridge>.fromOpaque(context).takeUnretainedValue().makeHandler else {
        return UnsafeMutableRawPointer(bitPattern: UInt(info.pointee.id))
    }
    let connection = Connection(info.pointee)
    let box = ConnectionBox(connection: connection, handler: make(connection))
    box.handler.connectionOpened(connection)
    return Unmanaged.passRetained(box).toOpaque()
}

/// `message`: the hook writes the reply in place; an error becomes a failed action.
let coreMessageTrampoline: @convention(c) (
    UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, OpaquePointer?
) -> ce_action = { context, connectionContext, data, count, core in
    guard let context, let core else { return CE_ACTION_FAIL }
    let bridge = Unmanaged<HookBridge>.fromOpaque(context)
    let message = Message(UnsafeRawBufferPointer(start: data, count: count))
    var reply = Reply(core: core, bridge: bridge)
    do {
        if let transform = bridge.takeUnretainedValue().transform {
            try transform(message, &reply)
        } else if let connectionContext {
            let box = Unmanaged<ConnectionBox>.fromOpaque(connectionContext).takeUnretainedValue()
            try box.handler.messageReceived(message, reply: &reply)
        }
    } catch {
        ce_reply_fail(core, String(describing: error))
        return CE_ACTION_FAIL
    }
    return reply.action
}

/// `closed`: a deferred reply still due can no longer be sent; tell the handler, then release it.
let coreClosedTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, ce_close_reason) -> Void = { context, connectionContext, reason in
    guard let context, let connectionContext else { return }
    let bridge = Unmanaged<HookBridge>.fromOpaque(context).takeUnretainedValue()
    bridge.abandonDeferral(connection: bridge.connectionID(connectionContext), datagram: reason == CE_CLOSE_DATAGRAM)
    guard bridge.makeHandler != nil else { return }
    let box = Unmanaged<ConnectionBox>.fromOpaque(connectionContext).takeRetainedValue()
    box.handler.connectionClosed(box.connection, reason: CloseReason(reason))
}

/// `abandoned`: the deferred reply passed the reply timeout, or no sender waits for a
/// datagram's (the core's table was full); its handle's completion would not be sent.
let coreAbandonedTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { context, connectionContext in
    guard let context, let connectionContext else { return }
    let bridge = Unmanaged<HookBridge>.fromOpaque(context).takeUnretainedValue()
    bridge.abandonDeferral(connection: bridge.connectionID(connectionContext))
}

extension CloseReason {
    init(_ reason: ce_close_reason) {
        switch reason {
        case CE_CLOSE_PEER: self = .peerClosed
        case CE_CLOSE_RESET: self = .reset
        case CE_CLOSE_IDLE_TIMEOUT: self = .idleTimeout
        case CE_CLOSE_WRITE_TIMEOUT: self = .writeTimeout
        case CE_CLOSE_FRAME_TIMEOUT: self = .frameTimeout
        case CE_CLOSE_MESSAGE_TOO_LARGE: self = .messageTooLarge
        case CE_CLOSE_REPLY_TOO_LARGE: self = .replyTooLarge
        case CE_CLOSE_HOOK_ERROR: self = .hookError
        case CE_CLOSE_BY_HOOK: self = .closedByHook
        case CE_CLOSE_SHUTDOWN: self = .shutdown
        case CE_CLOSE_SHUTDOWN_FORCED: self = .shutdownForced
        case CE_CLOSE_DATAGRAM: self = .datagramAnswered
        case CE_CLOSE_DEAD_PEER: self = .deadPeer
        case CE_CLOSE_REPLY_TIMEOUT: self = .replyTimeout
        default: self = .error
        }
    }
}

extension Connection {
    /// The connection the core describes, as every hook (closure, handler or async) sees it.
    init(_ info: ce_conn_info) {
        self.init(id: info.id, peerAddress: String(cString: info.peer), localAddress: String(cString: info.local),
                  proxyAddress: info.proxy.map { String(cString: $0) })
    }
}

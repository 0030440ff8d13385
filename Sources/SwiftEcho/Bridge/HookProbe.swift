import cecho

/// Calls a hook exactly as the loop does (through the same C trampolines, into a reply the
/// core owns) one message at a time, with no loop and no sockets. The benchmark runner times
/// the Swift hook path with it.
///
/// Not thread-safe: one probe belongs to one thread, like a loop's connection.
package final class HookProbe {
    private let bridge: HookBridge
    private let hooks: ce_hooks
    private let reply: OpaquePointer
    private var connectionContext: UnsafeMutableRawPointer?

    /// nil for ``Hook/echo``, which never leaves C, or without memory.
    package init?(_ hook: Hook, maxReply: Int = 1 << 20) {
        guard let bridge = HookBridge(hook, tasks: HookTasks()), let reply = ce_reply_create(maxReply) else { return nil }
        self.bridge = bridge
        self.reply = reply
        hooks = bridge.callbacks(context: Unmanaged.passUnretained(bridge).toOpaque())
        // A handler hook gets one connection, opened now and closed with the probe.
        if let opened = hooks.opened {
            var info = ce_conn_info()
            info.fd = -1
            info.id = 1
            connectionContext = "probe".withCString { name in
                info.peer = name
                info.local = name
                return opened(hooks.ctx, &info)
            }
        }
    }

    deinit {
        hooks.closed?(hooks.ctx, connectionContext, CE_CLOSE_PEER)
        ce_reply_destroy(reply)
    }

    /// Hands `message` to the hook; returns the length of the reply it wrote, or nil when it
    /// did not reply (declined, failed, closed, or answers later).
    package func call(_ message: UnsafeRawBufferPointer) -> Int? {
        let action = hooks.message(
            hooks.ctx, connectionContext, message.baseAddress?.assumingMemoryBound(to: CChar.self),
            message.count, reply)
        var length = 0
        _ = ce_reply_take(reply, &length)
        return action == CE_ACTION_REPLY ? length : nil
    }
}

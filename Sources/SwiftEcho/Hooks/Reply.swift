import cecho

/// The reply to one message, written straight into the connection's output.
///
/// A hook writes payload only: the server frames the reply like its message (the same line
/// terminator, or a length header). Any number of writes, possibly none, make one reply. Or
/// the hook declines (nothing is sent), closes the connection, or answers later with
/// ``replyLater()``. Past `--max-reply` bytes writes are dropped, the reply is not sent and
/// the connection closes.
public struct Reply: ~Copyable {
    enum Disposition { case reply, decline, later }

    private let core: OpaquePointer  // ce_reply, valid during the hook call
    private let bridge: Unmanaged<HookBridge>
    private(set) var disposition = Disposition.reply
    private(set) var closesConnection = false
    /// The handle ``replyLater()`` gave: asked again, it gives the same one.
    private var later: DeferredReply?

    init(core: OpaquePointer, bridge: Unmanaged<HookBridge>) {
        self.core = core
        self.bridge = bridge
    }

    /// Bytes written so far.
    public var count: Int { ce_reply_length(core) }

    /// Whether a write went past `--max-reply`: the reply will not be sent.
    public var isOverLimit: Bool { ce_reply_over_limit(core) != 0 }

    public mutating func write(_ bytes: RawSpan) {
        bytes.withUnsafeBytes { write($0) }
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) {
        _ = ce_reply_write(core, bytes.baseAddress, bytes.count)
    }

    /// The bytes of any sequence; arrays and other contiguous collections are copied at once.
    public mutating func write(_ bytes: some Sequence<UInt8>) {
        let contiguous: Void? = bytes.withContiguousStorageIfAvailable { write(UnsafeRawBufferPointer($0)) }
        if contiguous == nil { Array(bytes).withUnsafeBytes { write($0) } }
    }

    /// The text's UTF-8 bytes.
    public mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// A message's bytes (an echo of all or part of what came in).
    public mutating func write(_ message: borrowing Message) {
        message.withUnsafeBytes { write($0) }
    }

    public mutating func write(byte: UInt8) {
        withUnsafeBytes(of: byte) { write($0) }
    }

    /// Up to `capacity` bytes written in place: `fill` appends to the output span, and what it
    /// appended is kept. The zero-copy way to transform a message.
    public mutating func write<Failure: Error>(
        capacity: Int, _ fill: (inout OutputRawSpan) throws(Failure) -> Void
    ) throws(Failure) {
        guard capacity > 0, let start = ce_reply_reserve(core, capacity) else { return }
        let buffer = UnsafeMutableRawBufferPointer(start: start, count: capacity)
        var output = OutputRawSpan(buffer: buffer, initializedCount: 0)
        try fill(&output)
        ce_reply_commit(core, output.finalize(for: buffer))
    }

    /// Send nothing for this message (in line framing, not even the terminator). Ignored
    /// after ``replyLater()``: the handle answers.
    public mutating func decline() {
        if disposition != .later { disposition = .decline }
    }

    /// Close the connection once this reply (if any) and those before it are sent. Ignored
    /// after ``replyLater()``: the handle's ``DeferredReply/closeConnection()`` does that.
    public mutating func closeConnection() {
        if disposition != .later { closesConnection = true }
    }

    /// Answer later, from any thread or task, through the returned handle. The connection's
    /// later messages wait, so replies stay in message order. Bytes written before this call
    /// are dropped. Called again for the same message, it returns the same handle: one
    /// message, one answer, and no handle can answer another message.
    public mutating func replyLater() -> DeferredReply {
        if let later { return later }
        disposition = .later
        closesConnection = false
        let bridge = bridge.takeUnretainedValue()
        let state = DeferralState()
        let handle = DeferredReply(loop: bridge.loop, fd: ce_reply_conn_fd(core), id: ce_reply_conn_id(core),
                                   deferral: ce_reply_deferral(core), state: state)
        bridge.deferred(state, connection: ce_reply_conn_id(core))
        later = handle
        return handle
    }

    /// What the core should do now.
    var action: ce_action {
        switch disposition {
        case .reply: closesConnection ? CE_ACTION_REPLY_AND_CLOSE : CE_ACTION_REPLY
        case .decline: closesConnection ? CE_ACTION_CLOSE : CE_ACTION_DECLINE
        case .later: CE_ACTION_DEFER
        }
    }
}

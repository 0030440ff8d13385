import Synchronization
import cecho

/// A reply promised by ``Reply/replyLater()``, to complete from any thread or task.
///
/// It answers the message it was made for and no other. The first completion counts; later
/// ones are ignored and return false. The bytes are copied and handed to the connection's
/// loop, which frames and sends them in message order. Each completion returns whether the
/// reply was accepted for sending: false once the connection has closed, `--reply-timeout`
/// has passed, or the server has stopped (nothing is sent then). True is not "delivered": the
/// connection may still close before the bytes leave, or the peer never read them. A handle
/// dropped without a completion declines, so the connection's later messages are not held
/// forever.
public final class DeferredReply: Sendable {
    /// Weak: a handle kept in a hook's own state must not keep a stopped server's loop alive
    /// (the hook belongs to the loop: that would be a cycle). Without a loop, nothing is sent.
    private weak let loop: CoreLoop?
    private let fd: Int32
    private let id: UInt64
    private let deferral: UInt64
    private let state: DeferralState

    init(loop: CoreLoop?, fd: Int32, id: UInt64, deferral: UInt64, state: DeferralState) {
        self.loop = loop
        self.fd = fd
        self.id = id
        self.deferral = deferral
        self.state = state
    }

    deinit {
        if state.complete() { _ = post([], CE_ACTION_DECLINE) }
    }

    /// Sends `bytes` as the reply; with `thenClose`, closes the connection after it.
    @discardableResult
    public func send(_ bytes: some Sequence<UInt8>, thenClose: Bool = false) -> Bool {
        complete(Array(bytes), thenClose ? CE_ACTION_REPLY_AND_CLOSE : CE_ACTION_REPLY)
    }

    /// Sends the text's UTF-8 bytes as the reply.
    @discardableResult
    public func send(_ text: String, thenClose: Bool = false) -> Bool {
        send(text.utf8, thenClose: thenClose)
    }

    /// Sends nothing for the message.
    @discardableResult
    public func decline() -> Bool {
        complete([], CE_ACTION_DECLINE)
    }

    /// Sends nothing and closes the connection once what is queued is sent.
    @discardableResult
    public func closeConnection() -> Bool {
        complete([], CE_ACTION_CLOSE)
    }

    private func complete(_ bytes: [UInt8], _ action: ce_action) -> Bool {
        state.complete() && post(bytes, action)
    }

    private func post(_ bytes: [UInt8], _ action: ce_action) -> Bool {
        loop?.postReply(fd: fd, id: id, deferral: deferral, bytes: bytes, action: action) ?? false
    }
}

/// Whether a deferred reply may still be sent: due until completed, or abandoned by its loop
/// (the connection closed, the reply timed out). Shared by the handle and the loop.
final class DeferralState: Sendable {
    private static let due: UInt8 = 0, completed: UInt8 = 1, abandoned: UInt8 = 2
    private let value = Atomic<UInt8>(DeferralState.due)

    /// Takes the one completion; false if it was taken or the reply was abandoned.
    func complete() -> Bool {
        value.compareExchange(expected: Self.due, desired: Self.completed, ordering: .acquiringAndReleasing).exchanged
    }

    func abandon() {
        _ = value.compareExchange(expected: Self.due, desired: Self.abandoned, ordering: .acquiringAndReleasing)
    }
}

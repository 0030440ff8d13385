import Synchronization
import cecho

/// A reply promised by ``Reply/replyLater()``, to complete from any thread or task.
///
/// The first completion counts; later ones are ignored and return false. The bytes are
/// copied and handed to the connection's loop, which frames and sends them in message
/// order. If the connection closed meanwhile (or the server stopped) the reply is dropped,
/// safely. A handle dropped without a completion declines, so the connection's later messages
/// are not held forever.
public final class DeferredReply: Sendable {
    /// Weak: a handle kept in a hook's own state must not keep a stopped server's loop alive
    /// (the hook belongs to the loop: that would be a cycle). Without a loop, completing is a
    /// no-op, which is right: there is nobody left to send to.
    private weak let loop: CoreLoop?
    private let fd: Int32
    private let id: UInt64
    private let completed = Atomic(false)

    init(loop: CoreLoop?, fd: Int32, id: UInt64) {
        self.loop = loop
        self.fd = fd
        self.id = id
    }

    deinit {
        if !completed.load(ordering: .acquiring) { post([], CE_ACTION_DECLINE) }
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
        guard completed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return false }
        post(bytes, action)
        return true
    }

    private func post(_ bytes: [UInt8], _ action: ce_action) {
        loop?.postReply(fd: fd, id: id, bytes: bytes, action: action)
    }
}

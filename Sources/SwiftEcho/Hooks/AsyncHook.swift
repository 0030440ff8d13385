/// A message copied out of the server's input buffer for a hook that awaits: a value its
/// task may keep across `await`.
public struct AsyncMessage: Sendable {
    /// Payload bytes (the line terminator or length header is not part of the message).
    public let bytes: [UInt8]
    /// The connection it came on.
    public let connection: Connection

    public init(bytes: [UInt8], connection: Connection) {
        self.bytes = bytes
        self.connection = connection
    }

    public var count: Int { bytes.count }

    /// The bytes decoded as UTF-8; invalid sequences become U+FFFD.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// What an async hook answers one message with: bytes or text to send (payload only: the
/// server frames it like its message), nothing, or a close. A string literal is a reply.
public struct AsyncReply: Sendable, ExpressibleByStringLiteral {
    enum Payload: Sendable {
        case bytes([UInt8])
        case text(String)
    }

    enum Action: Sendable {
        case send(Payload, thenClose: Bool)
        case decline
        case close
    }

    let action: Action

    /// Sends `bytes`; with `thenClose`, closes the connection after it.
    public static func send(_ bytes: [UInt8], thenClose: Bool = false) -> AsyncReply {
        AsyncReply(action: .send(.bytes(bytes), thenClose: thenClose))
    }

    /// Sends the text's UTF-8 bytes; with `thenClose`, closes the connection after it.
    public static func send(_ text: String, thenClose: Bool = false) -> AsyncReply {
        AsyncReply(action: .send(.text(text), thenClose: thenClose))
    }

    /// Sends nothing for this message (in line framing, not even the terminator).
    public static let decline = AsyncReply(action: .decline)

    /// Sends nothing and closes the connection once the replies before it are sent.
    public static let closeConnection = AsyncReply(action: .close)

    public init(stringLiteral text: String) {
        action = .send(.text(text), thenClose: false)
    }

    private init(action: Action) {
        self.action = action
    }
}

/// What an async hook may return: an ``AsyncReply``, or a `String` or `[UInt8]` to send.
public protocol AsyncReplyConvertible: Sendable {
    var asyncReply: AsyncReply { get }
}

extension AsyncReply: AsyncReplyConvertible {
    public var asyncReply: AsyncReply { self }
}

extension String: AsyncReplyConvertible {
    public var asyncReply: AsyncReply { .send(self) }
}

extension Array: AsyncReplyConvertible where Element == UInt8 {
    public var asyncReply: AsyncReply { .send(self) }
}

/// Per-connection state and behaviour for a hook that awaits, like ``ConnectionHandler``: the
/// server makes one for each connection (see ``Hook/asyncHandler(_:)``) and runs every call on
/// the executor of the loop that owns the connection (``LoopExecutor``), so after an `await`
/// the handler is back on that loop's thread and its state needs no locks. One message at a
/// time: the next is handed over once this one is answered.
///
/// ```swift
/// final class Session: AsyncConnectionHandler {
///     let store: Store   // an actor
///     var lines = 0      // loop-thread state: no lock
///     init(store: Store) { self.store = store }
///     func messageReceived(_ message: AsyncMessage) async throws -> AsyncReply {
///         lines += 1
///         let value = await store.value(for: message.text)
///         lines += 0     // still on the loop's thread
///         return .send(value ?? "none")
///     }
/// }
/// let hook = Hook.asyncHandler { _ in Session(store: store) }
/// ```
public protocol AsyncConnectionHandler: AnyObject {
    /// The connection is open; called once, before any message, on the loop's thread.
    func connectionOpened(_ connection: Connection)
    /// One message; the reply it returns is sent in message order. A thrown error closes only
    /// this connection (reason ``CloseReason/hookError``) and is logged. The task is cancelled
    /// when the connection closes first (a stop, a timeout, the peer).
    func messageReceived(_ message: AsyncMessage) async throws -> AsyncReply
    /// The connection closed; called once, on the loop's thread. A `messageReceived` still
    /// running then has been cancelled and may resume after this call: keep what it touches
    /// valid until it returns.
    func connectionClosed(_ connection: Connection, reason: CloseReason)
}

extension AsyncConnectionHandler {
    public func connectionOpened(_ connection: Connection) {}
    public func connectionClosed(_ connection: Connection, reason: CloseReason) {}
}

extension Hook {
    /// A hook that may `await`: `body` gets each message as a value it may keep, and returns
    /// the reply (an ``AsyncReply``, a `String` or `[UInt8]`).
    ///
    /// ```swift
    /// let hook = Hook.async { message in
    ///     await directory.lookup(message.text) ?? "unknown"
    /// }
    /// ```
    ///
    /// The server runs `body` as a task it owns, on the executor of the connection's loop: up
    /// to its first suspension at once, inside the loop's turn (a `body` that never suspends
    /// costs no thread hop), and after each `await` on the loop's thread again. Replies go
    /// out in message order; a connection's next message is handed over once this one is
    /// answered. A graceful stop waits for the tasks within the shutdown timeout and then
    /// cancels them; an immediate stop, a connection that closes and `--reply-timeout`
    /// cancel theirs; `run()` returns only once every task has ended.
    public static func async<Answer: AsyncReplyConvertible>(
        _ body: @escaping @Sendable (AsyncMessage) async throws -> Answer
    ) -> Hook {
        Hook(kind: .async(.closure { message in try await body(message).asyncReply }))
    }

    /// An async hook with per-connection state: `make` builds an ``AsyncConnectionHandler``
    /// for each new connection, on its loop's thread.
    public static func asyncHandler(_ make: @escaping @Sendable (Connection) -> any AsyncConnectionHandler) -> Hook {
        Hook(kind: .async(.handler(make)))
    }
}

/// What an async hook is: one closure for every connection, or a handler per connection.
enum AsyncHookBody: Sendable {
    case closure(@Sendable (AsyncMessage) async throws -> AsyncReply)
    case handler(@Sendable (Connection) -> any AsyncConnectionHandler)
}

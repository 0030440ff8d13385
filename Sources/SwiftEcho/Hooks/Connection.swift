/// A client connection as its hook sees it.
public struct Connection: Sendable, Hashable, CustomStringConvertible {
    /// Unique among the connections of one server run.
    public let id: UInt64
    /// The client's address: "127.0.0.1:53211" or "[::1]:53211"; a Unix-domain client has
    /// none, so it is named by the socket it came through: "unix:/run/echo.sock".
    public let peerAddress: String
    /// The server's end: the listening address the client reached.
    public let localAddress: String
    /// With `--proxy-protocol`, the load balancer the client came through, when its PROXY
    /// header named the client (``peerAddress`` is then the client); nil otherwise.
    public let proxyAddress: String?

    public init(id: UInt64, peerAddress: String, localAddress: String, proxyAddress: String? = nil) {
        self.id = id
        self.peerAddress = peerAddress
        self.localAddress = localAddress
        self.proxyAddress = proxyAddress
    }

    public var description: String { "#\(id) \(peerAddress)" }
}

/// Why a connection closed.
public enum CloseReason: Sendable, Hashable, CustomStringConvertible {
    /// The client closed, after every reply was sent.
    case peerClosed
    /// The client reset the connection.
    case reset
    /// A socket error, or the server ran out of memory.
    case error
    /// No byte read or written for `--idle-timeout`.
    case idleTimeout
    /// Queued replies made no progress for `--write-timeout`.
    case writeTimeout
    /// An incomplete message waited `--frame-timeout`.
    case frameTimeout
    /// A message was larger than `--max-message`.
    case messageTooLarge
    /// A reply was larger than `--max-reply`.
    case replyTooLarge
    /// The hook threw.
    case hookError
    /// The hook closed it (``Reply/closeConnection()``).
    case closedByHook
    /// The server stopped gracefully and the connection finished.
    case shutdown
    /// The server stopped and the connection had not finished by the deadline (or the stop
    /// was immediate).
    case shutdownForced
    /// UDP: each datagram is a connection of its own, closed once the hook has answered it
    /// (a deferred reply is still sent when it comes).
    case datagramAnswered
    /// The kernel found the client gone: it answered no keepalive probe (`--keepalive`), or
    /// left a reply unacknowledged past the user timeout (`--write-timeout`).
    case deadPeer
    /// A deferred or async reply was not ready within `--reply-timeout`.
    case replyTimeout

    public var description: String {
        switch self {
        case .peerClosed: "peer closed"
        case .reset: "reset"
        case .error: "error"
        case .idleTimeout: "idle timeout"
        case .writeTimeout: "write timeout"
        case .frameTimeout: "frame timeout"
        case .messageTooLarge: "message too large"
        case .replyTooLarge: "reply too large"
        case .hookError: "hook error"
        case .closedByHook: "closed by hook"
        case .shutdown: "shutdown"
        case .shutdownForced: "shutdown deadline"
        case .datagramAnswered: "datagram answered"
        case .deadPeer: "dead peer"
        case .replyTimeout: "reply timeout"
        }
    }
}

/// Per-connection state and behaviour, like a channel handler in SwiftNIO: the server makes
/// one for each connection (see ``Hook/handler(_:)``) and calls it on the thread of the loop
/// that owns the connection, one call at a time, so its state needs no locks.
///
/// ```swift
/// final class Counter: ConnectionHandler {
///     var count = 0
///     func messageReceived(_ message: borrowing Message, reply: inout Reply) {
///         count += 1
///         reply.write("\(count): ")
///         reply.write(message)
///     }
/// }
/// let hook = Hook.handler { _ in Counter() }
/// ```
public protocol ConnectionHandler: AnyObject {
    /// The connection is open; called once, before any message.
    func connectionOpened(_ connection: Connection)
    /// One message; write the reply to `reply`. A thrown error closes only this connection
    /// (reason ``CloseReason/hookError``) and is logged.
    func messageReceived(_ message: borrowing Message, reply: inout Reply) throws
    /// The connection closed; called once, last.
    func connectionClosed(_ connection: Connection, reason: CloseReason)
}

extension ConnectionHandler {
    public func connectionOpened(_ connection: Connection) {}
    public func connectionClosed(_ connection: Connection, reason: CloseReason) {}
}

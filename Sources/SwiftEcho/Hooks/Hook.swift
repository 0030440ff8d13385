/// What the server does with each message: the built-in echo, a closure, or a handler made
/// for each connection.
///
/// ```swift
/// let shout = Hook.map { message in message.text.uppercased() }   // the simplest
/// let twice = Hook { message, reply in                            // straight into the output
///     reply.write(message)
///     reply.write(message)
/// }
/// ```
///
/// Hooks run on the loop's thread: a slow one delays every connection of that loop. Work that
/// waits (a lookup, a database) belongs in a deferred reply (``Reply/replyLater()``).
public struct Hook: Sendable {
    /// Reply to a message in place.
    public typealias Transform = @Sendable (borrowing Message, inout Reply) throws -> Void

    enum Kind: Sendable {
        case echo
        case transform(Transform)
        case handler(@Sendable (Connection) -> any ConnectionHandler)
        case async(AsyncHookBody)
    }

    let kind: Kind

    init(kind: Kind) {
        self.kind = kind
    }

    /// Every message back as it came. Runs entirely in the C core: no Swift code per message.
    public static let echo = Hook(kind: .echo)

    /// A stateless hook: `transform` writes each message's reply.
    public init(_ transform: @escaping Transform) {
        kind = .transform(transform)
    }

    /// The simplest hook: each message's reply is the text `transform` returns.
    public static func map(_ transform: @escaping @Sendable (borrowing Message) throws -> String) -> Hook {
        Hook { message, reply in reply.write(try transform(message)) }
    }

    /// A hook with per-connection state: `make` builds a handler for each new connection.
    public static func handler(_ make: @escaping @Sendable (Connection) -> any ConnectionHandler) -> Hook {
        Hook(kind: .handler(make))
    }
}

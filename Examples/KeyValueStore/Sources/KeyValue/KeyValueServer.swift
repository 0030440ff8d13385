import SwiftEcho

/// The key-value service: an async hook over a ``Store``. The server runs the hook on the
/// connection's loop and answers in message order; since a connection's next line is handed
/// over only once this one is answered, a `SET` is done before the `GET` that follows it on
/// the same connection.
public enum KeyValueServer {
    /// The hook answering every connection from `store`.
    public static func hook(store: Store) -> Hook {
        .async { message -> AsyncReply in
            let command: Command
            do throws(Command.Invalid) {
                command = try Command(line: message.text)
            } catch {
                return .send("ERROR \(error.reason)")
            }
            switch command {
            case .get(let key):
                return .send(await store.value(for: key) ?? "NOT_FOUND")
            case .set(let key, let value):
                await store.set(value, for: key)
                return "OK"
            case .delete(let key):
                return await store.remove(key) ? "DELETED" : "NOT_FOUND"
            case .count:
                return .send("\(await store.count)")
            case .quit:
                return .send("BYE", thenClose: true)
            }
        }
    }

    /// A server for `store` with `configuration`, in line framing whatever it says.
    public static func server(configuration: Configuration, store: Store, logger: Logger) -> EchoServer {
        var configuration = configuration
        configuration.framing = .line
        return EchoServer(configuration: configuration, hook: hook(store: store), logger: logger)
    }
}

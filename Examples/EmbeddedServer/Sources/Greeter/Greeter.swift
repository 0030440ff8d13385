import SwiftEcho

/// A line server that greets: each line `NAME` is answered `hello, NAME`, and `BYE` with
/// `bye` and a close. Stateless, so one closure hook serves every connection.
public enum Greeter {
    public static let hook = Hook { message, reply in
        let name = message.text
        if name == "BYE" {
            reply.write("bye")
            reply.closeConnection()
        } else {
            reply.write("hello, \(name.isEmpty ? "stranger" : name)")
        }
    }

    /// A greeting server with `configuration`, in line framing whatever it says.
    public static func server(configuration: Configuration, logger: Logger) -> EchoServer {
        var configuration = configuration
        configuration.framing = .line
        return EchoServer(configuration: configuration, hook: hook, logger: logger)
    }
}

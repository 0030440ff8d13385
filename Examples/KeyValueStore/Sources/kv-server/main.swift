// kv-server [port]: the key-value service on 127.0.0.1 (port 6380 unless given), until
// SIGTERM or SIGINT.
import Foundation
import KeyValue
import SwiftEcho

@main
struct KeyValueMain {
    static func main() async throws {
        var configuration = Configuration()
        configuration.port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 6380
        let logger = Logger(label: "kv-server")
        let server = KeyValueServer.server(configuration: configuration, store: Store(), logger: logger)
        let signals = SignalHandling(server: server)
        try signals.install()  // first: the loop's thread inherits the blocked signals
        try await server.run()
        exit(signals.immediateStop?.exitStatus ?? 0)
    }
}

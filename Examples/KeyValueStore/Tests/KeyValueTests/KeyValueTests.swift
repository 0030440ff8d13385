import Foundation
import KeyValue
import SwiftEcho
import Testing

@Suite struct CommandTests {
    @Test func linesParse() throws {
        #expect(try Command(line: "GET a") == .get("a"))
        #expect(try Command(line: "set a b c") == .set("a", "b c"))
        #expect(try Command(line: "DEL a") == .delete("a"))
        #expect(try Command(line: "QUIT") == .quit)
        #expect(throws: Command.Invalid(reason: "SET takes a key and a value")) { try Command(line: "SET a") }
        #expect(throws: Command.Invalid(reason: "unknown command FLY")) { try Command(line: "fly") }
    }
}

@Suite struct KeyValueServerTests {
    /// Serves `body` a server on a free port, stopped afterwards.
    private func withServer(_ body: @Sendable (Int) async throws -> Void) async throws {
        var configuration = Configuration()
        configuration.port = 0
        let server = KeyValueServer.server(configuration: configuration, store: Store(),
                                           logger: Logger(label: "test", logLevel: .warning))
        let serving = Task { try await server.run() }
        let port = try #require(try await server.waitUntilListening().first?.port)
        try await body(port)
        serving.cancel()
        try await serving.value
    }

    @Test func setGetDeleteAndQuit() async throws {
        try await withServer { port in
            let answer = try await onThread {
                try LineClient(port: port).exchange("SET a 1\nGET a\nDEL a\nGET a\nFLY\nQUIT\n", untilClosed: true)
            }
            #expect(answer == "OK\n1\nDELETED\nNOT_FOUND\nERROR unknown command FLY\nBYE\n")
        }
    }

    /// Two thousand SETs, each followed at once by a GET of the same key, pipelined on one
    /// connection: every GET sees the SET before it, never a stale value.
    @Test func aGetAfterASetOnOneConnectionSeesIt() async throws {
        try await withServer { port in
            let lines = (0..<2000).map { "SET k \($0)\nGET k\n" }.joined()
            let answer = try await onThread { try LineClient(port: port, timeout: 30).exchange(lines) }
            #expect(answer == (0..<2000).map { "OK\n\($0)\n" }.joined())
        }
    }

    /// Connections share the store.
    @Test func connectionsShareTheStore() async throws {
        try await withServer { port in
            _ = try await onThread { try LineClient(port: port).exchange("SET shared yes\n") }
            let seen = try await onThread { try LineClient(port: port).exchange("GET shared\nCOUNT\n") }
            #expect(seen == "yes\n1\n")
        }
    }
}

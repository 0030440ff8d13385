// README:begin
import SwiftEcho

/// Looks things up slowly (a database, say); an actor, so any task may call it.
actor Directory {
    private let entries = ["swift": "a programming language", "echo": "RFC 862"]

    func lookup(_ key: String) async -> String? {
        try? await Task.sleep(for: .milliseconds(10))
        return entries[key]
    }
}

/// A small line protocol. The server makes one Session per connection and runs it on that
/// connection's loop: after each `await` it is back on the loop's thread, so `lines` needs no
/// lock.
final class Session: AsyncConnectionHandler {
    let directory: Directory
    var lines = 0

    init(directory: Directory) {
        self.directory = directory
    }

    func messageReceived(_ message: AsyncMessage) async throws -> AsyncReply {
        lines += 1
        let text = message.text
        if text == "COUNT" {
            return .send("\(lines)")
        } else if text == "QUIT" {
            return .send("bye", thenClose: true)
        } else if text.hasPrefix("LOOKUP ") {
            let found = await directory.lookup(String(text.dropFirst(7)))  // the loop serves others meanwhile
            return .send(found ?? "unknown")
        }
        return .send(message.bytes)  // echo it
    }

    func connectionClosed(_ connection: Connection, reason: CloseReason) {
        print("\(connection) closed (\(reason)) after \(lines) lines")
    }
}

func startLineServer(port: Int) throws -> EchoServer {
    var configuration = Configuration()
    configuration.port = port
    configuration.framing = .line  // replies end with the same \n or \r\n as their line
    let directory = Directory()
    let server = EchoServer(configuration: configuration, hook: .asyncHandler { _ in Session(directory: directory) })
    try server.start()
    return server
}
// README:end

import Foundation
import Testing

/// The README's hook example, run as written; and the README must show it verbatim.
@Suite struct ReadmeExampleTests {
    @Test func theHookExampleServesItsProtocol() async throws {
        let server = try startLineServer(port: 0)
        // The lookups run on the task pool, which blocking tests elsewhere may hold for a
        // while: no reply timeout, and a long (still bounded) wait.
        var patient = server.configuration
        patient.replyTimeout = .zero
        _ = try server.reload(patient)
        let port = server.port
        let received = try await onThread {
            let client = try TestClient(port: port, timeout: 60)
            try client.send(Array("hello\r\nCOUNT\nLOOKUP swift\nLOOKUP nope\nQUIT\nafter\n".utf8))
            return try client.receiveUntilEOF()
        }
        #expect(String(decoding: received, as: UTF8.self) == "hello\r\n2\na programming language\nunknown\nbye\n")
        server.stop()
        try await onThread { server.wait() }
    }

    @Test func theReadmeShowsTheExampleVerbatim() throws {
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let example = source.components(separatedBy: "// README:begin\n")[1].components(separatedBy: "// README:end")[0]
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("```swift\n" + example + "```"), "README.md must show ReadmeExample.swift's example as is")
    }
}

import Foundation
import Greeter
import SwiftEcho
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The greeter in process, and the greeting-server process under a signal.
@Suite struct GreeterTests {
    @Test func greetsEachLineAndSaysGoodbye() async throws {
        var configuration = Configuration()
        configuration.port = 0
        let server = Greeter.server(configuration: configuration, logger: Logger(label: "test", logLevel: .warning))
        let serving = Task { try await server.run() }
        let port = try #require(try await server.waitUntilListening().first?.port)
        let answer = try await onThread {
            let client = try LineClient(port: port)
            return try client.exchange("swift\n\nBYE\n", untilClosed: true)
        }
        #expect(answer == "hello, swift\nhello, stranger\nbye\n")
        serving.cancel()
        try await serving.value
    }

    /// SIGTERM stops the process gracefully: exit 0.
    @Test func theServerProcessStopsOnSIGTERM() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: productPath("greeting-server"))
        process.arguments = ["--port", "0", "--log-level", "warning"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let line = try await onThread { try readLine(from: output.fileHandleForReading, timeout: 10) }
        let port = try #require(line.split(separator: ":").last.flatMap { Int($0) }, "stdout: \(line)")
        let answer = try await onThread { try LineClient(port: port).exchange("process\n") }
        #expect(answer == "hello, process\n")
        kill(process.processIdentifier, SIGTERM)
        let ended = try await onThread { () -> Bool in
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            return !process.isRunning
        }
        #expect(ended)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
    }
}

/// A blocking line client with bounded waits.
struct LineClient {
    let fd: Int32

    init(port: Int, timeout: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var time = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            close(fd)
            throw ClientError("connect(127.0.0.1:\(port)): \(String(cString: strerror(errno)))")
        }
    }

    /// Sends `text` and reads the answer: one line per line sent, or all until the server closes.
    func exchange(_ text: String, untilClosed: Bool = false) throws -> String {
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard send(fd, bytes, bytes.count, 0) == bytes.count else { throw ClientError("send failed") }
        let lines = bytes.filter { $0 == UInt8(ascii: "\n") }.count
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while untilClosed || received.filter({ $0 == UInt8(ascii: "\n") }).count < lines {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n == 0, untilClosed { break }
            guard n > 0 else { throw ClientError("recv: no answer (\(String(cString: strerror(errno))))") }
            received += chunk[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }
}

struct ClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Blocking work on a thread of its own, so the test leaves Swift's task pool free.
func onThread<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// The first line `handle` gives within `timeout` seconds.
func readLine(from handle: FileHandle, timeout: Double) throws -> String {
    var pending = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
    var text = ""
    let deadline = Date().addingTimeInterval(timeout)
    while !text.contains("\n") {
        let left = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
        guard poll(&pending, 1, left) == 1 else { throw ClientError("no line within \(timeout) s") }
        var byte: UInt8 = 0
        guard read(handle.fileDescriptor, &byte, 1) == 1 else { throw ClientError("the process closed stdout") }
        text.append(Character(UnicodeScalar(byte)))
    }
    return String(text.dropLast())
}

/// A program this package builds, beside the test bundle.
func productPath(_ name: String) -> String {
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
}

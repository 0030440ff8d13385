import Foundation
#if canImport(Glibc)
import Glibc
#endif

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


import Foundation
import Glibc

/// A fresh directory under /tmp (short paths: a Unix socket path has at most 107 bytes),
/// removed with everything in it on deinit.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/echo-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw TestClientError("mkdtemp: \(String(cString: strerror(errno)))") }
        path = string(fromCString: template)
    }

    /// `name` inside the directory.
    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// What `lstat` says of `path`, nil when nothing is there.
func fileStatus(_ path: String) -> stat? {
    var status = stat()
    return lstat(path, &status) == 0 ? status : nil
}

/// Whether this machine can use IPv6 loopback: tests that need it are skipped, saying so,
/// where it is disabled (as in some containers).
let hasIPv6Loopback: Bool = {
    let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_addr = in6addr_loopback
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0
        }
    }
}()

extension TemporaryDirectory {
    /// The names in the directory now, sorted.
    var names: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    /// File `name`'s contents as text, nil when it cannot be read.
    func read(_ name: String) -> String? {
        FileManager.default.contents(atPath: file(name)).map { String(decoding: $0, as: UTF8.self) }
    }

    func write(_ name: String, _ text: String) throws {
        guard FileManager.default.createFile(atPath: file(name), contents: Data(text.utf8)) else {
            throw TestClientError("cannot write \(file(name))")
        }
    }
}

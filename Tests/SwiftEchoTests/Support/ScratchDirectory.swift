import Foundation
import Glibc

/// A fresh directory under /tmp for files a test makes (pid files, sockets), removed with
/// everything in it when the test ends.
final class ScratchDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/echo-test-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw TestClientError("mkdtemp: \(String(cString: strerror(errno)))")
        }
        path = string(fromCString: template)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// `name` inside the directory.
    func file(_ name: String) -> String { path + "/" + name }

    /// The names in the directory now, sorted.
    var names: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    func read(_ name: String) -> String? {
        FileManager.default.contents(atPath: file(name)).map { String(decoding: $0, as: UTF8.self) }
    }

    func write(_ name: String, _ text: String) throws {
        guard FileManager.default.createFile(atPath: file(name), contents: Data(text.utf8)) else {
            throw TestClientError("cannot write \(file(name))")
        }
    }
}

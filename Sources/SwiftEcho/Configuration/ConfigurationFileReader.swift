#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a configuration file with plain POSIX calls.
enum ConfigurationFileReader {
    /// Configuration files are small; a cap keeps `--config /dev/zero` from eating memory.
    static let maximumSize = 1024 * 1024

    /// A failed read, described the way `strerror` describes `errno`.
    struct ReadError: Error, Sendable, Equatable, CustomStringConvertible {
        var description: String

        init(description: String) {
            self.description = description
        }

        init(errno code: Int32) {
            self.description = String(cString: strerror(code))
        }
    }

    /// The whole file at `path`, at most ``maximumSize`` bytes.
    static func contents(ofFile path: String) throws(ReadError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ReadError(errno: errno) }
        defer { _ = close(descriptor) }  // read-only: nothing to lose if close fails

        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress, buffer.count)
            }
            if count == 0 { return contents }
            if count < 0 {
                if errno == EINTR { continue }
                throw ReadError(errno: errno)
            }
            contents.append(contentsOf: chunk[..<count])
            if contents.count > maximumSize {
                throw ReadError(description: "the file is larger than \(maximumSize / 1024 / 1024) MiB")
            }
        }
    }
}

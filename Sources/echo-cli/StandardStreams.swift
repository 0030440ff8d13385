#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-text writes to stdout and stderr, retrying short writes and EINTR.
enum StandardStreams {
    static func out(_ text: String) { emit(text, to: STDOUT_FILENO) }
    static func err(_ text: String) { emit(text, to: STDERR_FILENO) }

    private static func emit(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)
        if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n > 0 { offset += n } else if n == -1 && errno == EINTR { continue } else { return }
            }
        }
    }
}

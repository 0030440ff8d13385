#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes each line, with its newline, to standard error. Lines from several threads never
/// interleave: every sink shares one lock, held while the whole line is written.
public struct StandardErrorSink: LogSink {
    /// One lock for all instances, since they all write to the same descriptor.
    private static let lock = PThreadMutex()

    private let fileDescriptor: Int32

    /// A sink that writes to file descriptor 2.
    public init() {
        self.fileDescriptor = 2
    }

    /// For tests: the same behaviour on another descriptor, such as a pipe.
    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    public func emit(line: String, record: LogRecord) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        Self.lock.withLock {
            writeAll(bytes)
        }
    }

    /// Loops over `write(2)` until every byte is out: it may be interrupted (EINTR) or write
    /// only part of the line (a pipe or terminal that is full). Any other failure drops the
    /// rest of the line: logging must never stop or crash the server, and there is nowhere
    /// left to report the failure.
    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}

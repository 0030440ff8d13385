#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered writes to standard error: progress lines and error messages.
enum StandardError {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = systemWrite(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    static func line(_ text: String) { write(text + "\n") }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif

/// How echo-bench exits, so scripts can tell a clean run from one that counted errors.
struct ExitStatus: Equatable, Sendable {
    let rawValue: Int32

    static let success = ExitStatus(rawValue: 0)
    /// The run finished but counted errors: wrong or missing bytes, failed connects.
    static let errorsCounted = ExitStatus(rawValue: 1)
    /// The run could not start, or no connection got ready.
    static let failed = ExitStatus(rawValue: 2)
    static let usage = ExitStatus(rawValue: 64)

    /// 128 + the signal (130 for SIGINT, 143 for SIGTERM): what a shell reports for a process
    /// the signal ended, so a script sees the interrupt even though echo-bench reported first.
    static func interrupted(by signal: Int32) -> ExitStatus { ExitStatus(rawValue: 128 + signal) }

    func terminate() -> Never { exit(rawValue) }
}

extension String {
    /// The text in a C buffer, up to its first NUL.
    init(cBuffer: [CChar]) {
        self.init(decoding: cBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

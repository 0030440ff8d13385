import SwiftEcho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `--pid-file`, for init systems and scripts that find the daemon by it.
///
/// `claim()` runs before anything is bound: a file naming a live process means another
/// instance runs, and is refused; a stale one (its process gone, or not a pid at all) is
/// noted and replaced later. It also creates the temporary file the pid is written to, so an
/// unusable directory is found before anything is bound. `publish()`, once listening, writes
/// the pid there and renames it over the path, so a reader never sees half a file.
/// `remove()`, on every exit, deletes the file only while it still holds our pid: a file
/// another instance wrote since is left alone.
final class PidFile {
    enum Failure: Error, CustomStringConvertible {
        case live(path: String, pid: Int32)
        case unusable(path: String, reason: String)

        var description: String {
            switch self {
            case .live(let path, let pid):
                "pid file \(path) names process \(pid), which is running: is another instance running?"
                    + " Stop it, or remove the file if that process is not echo-cli."
            case .unusable(let path, let reason):
                "cannot create pid file \(path): \(reason)"
            }
        }

        var exitCode: Int32 {
            switch self {
            case .live: ExitCode.unavailable
            case .unusable: ExitCode.cannotCreate
            }
        }
    }

    let path: String
    private let ownPid = getpid()
    private var temporaryPath: String?  // created by claim, renamed over `path` by publish
    private var temporaryFD: Int32 = -1
    private var published = false

    init(path: String) {
        self.path = path
    }

    func claim(logger: Logger) throws(Failure) {
        switch try readPid() {
        case .absent:
            break
        case .pid(let pid) where pid != ownPid && isRunning(pid):
            throw .live(path: path, pid: pid)
        case .pid(let pid):
            // Our own pid is stale too: a container's pid 1 restarted, say.
            logger.notice("replacing stale pid file \(path): process \(pid) is not running")
        case .garbage:
            logger.notice("replacing stale pid file \(path): it holds no process ID")
        }
        var template = Array((path + ".XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw .unusable(path: path, reason: Self.errnoText()) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fchmod(fd, 0o644)  // mkstemp's 0600 would hide the pid from the tools that read it
        temporaryFD = fd
        temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Writes the pid file; call once listening.
    func publish() throws(Failure) {
        guard let temporaryPath, temporaryFD >= 0 else { return }
        let text = Array("\(ownPid)\n".utf8)
        let written = text.withUnsafeBytes { write(temporaryFD, $0.baseAddress, $0.count) }
        let writeError = written == text.count ? 0 : (written < 0 ? errno : ENOSPC)
        let closed = close(temporaryFD)
        temporaryFD = -1
        if writeError != 0 || closed != 0 {
            throw .unusable(path: path, reason: Self.errnoText(writeError != 0 ? writeError : errno))
        }
        guard rename(temporaryPath, path) == 0 else {
            throw .unusable(path: path, reason: Self.errnoText())
        }
        self.temporaryPath = nil
        published = true
    }

    /// Deletes what claim and publish made, the pid file only while it holds our pid.
    func remove() {
        if temporaryFD >= 0 { _ = close(temporaryFD) }
        temporaryFD = -1
        if let temporaryPath { _ = unlink(temporaryPath) }
        temporaryPath = nil
        if published, case .pid(ownPid)? = try? readPid() { _ = unlink(path) }
        published = false
    }

    private enum Contents: Equatable {
        case absent
        case pid(Int32)
        case garbage
    }

    /// What the file holds now. Pid files are a line; more than 64 bytes is not one.
    private func readPid() throws(Failure) -> Contents {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            if errno == ENOENT { return .absent }
            throw .unusable(path: path, reason: Self.errnoText())
        }
        defer { _ = close(fd) }
        var bytes = [UInt8](repeating: 0, count: 64)
        var count = -1
        repeat {
            count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        } while count < 0 && errno == EINTR
        guard count >= 0 else { throw .unusable(path: path, reason: Self.errnoText()) }
        let text = String(decoding: bytes[..<count], as: UTF8.self)
        let trimmed = text.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed()
        guard let pid = Int32(String(trimmed)), pid > 0 else { return .garbage }
        return .pid(pid)
    }

    /// Whether process `pid` exists: signal 0 checks without sending. EPERM means it exists
    /// but belongs to someone else.
    private func isRunning(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    private static func errnoText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }
}

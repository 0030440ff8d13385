#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What /proc says about a process: CPU time, memory, descriptors. Linux only; elsewhere every
/// reading is nil and the reports leave those columns empty.
enum ProcessProbe {
    /// User + system CPU seconds of every thread of `pid` so far.
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let stat = readText("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name, which may hold spaces: state is field 3, utime 14.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A `kB` line of /proc/PID/status, in bytes: `VmRSS`, `VmHWM`.
    static func statusBytes(_ pid: Int32, _ key: String) -> Int? {
        guard let status = readText("/proc/\(pid)/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(key + ":") {
            let number = line.dropFirst(key.count + 1).filter { $0.isNumber }
            return Int(number).map { $0 * 1024 }
        }
        return nil
    }

    static func residentBytes(_ pid: Int32) -> Int? { statusBytes(pid, "VmRSS") }

    static func peakResidentBytes(_ pid: Int32) -> Int? { statusBytes(pid, "VmHWM") }

    /// The processes whose parent is `pid`, from /proc/PID/stat (zombies included).
    static func children(of parent: Int32) -> [Int32] {
        var found: [Int32] = []
        forEachProcess { pid in
            guard let stat = readText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return }
            // After the command name: state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ", maxSplits: 3)
            if fields.count > 1, Int32(fields[1]) == parent { found.append(pid) }
        }
        return found
    }

    /// Calls `body` with every process ID in /proc.
    private static func forEachProcess(_ body: (Int32) -> Void) {
        guard let proc = opendir("/proc") else { return }
        defer { closedir(proc) }
        while let entry = readdir(proc) {
            if let pid = Int32(entryName(entry)) { body(pid) }
        }
    }

    /// The process that owns the TCP socket listening on `port`, found through the socket's
    /// inode: a server started through `sh -c` is still found, whatever wraps it.
    static func listeningProcess(port: Int) -> Int32? {
        var inodes = Set<Substring>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = readText(table) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // local_address is HEXADDR:HEXPORT; state 0A is LISTEN; the inode is field 10.
                guard fields.count > 9, fields[3] == "0A",
                      let colon = fields[1].lastIndex(of: ":"),
                      Int(fields[1][fields[1].index(after: colon)...], radix: 16) == port else { continue }
                inodes.insert(fields[9])
            }
        }
        guard !inodes.isEmpty else { return nil }
        var owner: Int32?
        forEachProcess { pid in
            if owner == nil, ownsSocket(pid: pid, inodes: inodes) { owner = pid }
        }
        return owner
    }

    private static func ownsSocket(pid: Int32, inodes: Set<Substring>) -> Bool {
        let folder = "/proc/\(pid)/fd"
        guard let fds = opendir(folder) else { return false }
        defer { closedir(fds) }
        var target = [CChar](repeating: 0, count: 64)
        while let entry = readdir(fds) {
            let name = entryName(entry)
            let count = readlink("\(folder)/\(name)", &target, target.count - 1)
            guard count > 0 else { continue }
            let link = String(decoding: target[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // "socket:[12345]"
            if link.hasPrefix("socket:["), inodes.contains(link.dropFirst(8).dropLast()) { return true }
        }
        return false
    }

    /// A directory entry's name, read in place: the kernel's record may be shorter than
    /// `d_name`'s declared size, so copying the whole field could read past it.
    private static func entryName(_ entry: UnsafeMutablePointer<dirent>) -> String {
        withUnsafePointer(to: &entry.pointee.d_name) {
            String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
        }
    }

    /// A small text file read whole (the /proc files above are a few KiB at most).
    static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

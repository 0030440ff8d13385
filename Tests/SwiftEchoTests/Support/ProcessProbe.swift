import Glibc

/// Reads a process's resource use from /proc, as the reliability tests measure it.
struct ProcessProbe {
    let pid: pid_t

    /// Open descriptors (entries of /proc/PID/fd).
    var openDescriptors: Int {
        guard let dir = opendir("/proc/\(pid)/fd") else { return -1 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            // The name in place: a dirent is only as long as its name (d_reclen), so copying the
            // whole 256-byte d_name out of the last entry can read past readdir's buffer.
            let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
            let name = String(cString: (UnsafeRawPointer(entry) + offset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { count += 1 }
        }
        return count
    }

    /// Resident set size in bytes (VmRSS), -1 if unknown.
    var residentBytes: Int { statusField("VmRSS:") }
    /// Peak resident set size in bytes (VmHWM), -1 if unknown.
    var peakResidentBytes: Int { statusField("VmHWM:") }

    /// User plus system CPU time in seconds, from /proc/PID/stat.
    var cpuSeconds: Double {
        guard let text = readText("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return -1 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // after the command: state(0) ... utime(11) stime(12)
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return -1 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private func statusField(_ name: String) -> Int {
        guard let text = readText("/proc/\(pid)/status") else { return -1 }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kib = Int(parts[1]) { return kib * 1024 }
        }
        return -1
    }
}

/// The whole text of a small file, or nil.
func readText(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

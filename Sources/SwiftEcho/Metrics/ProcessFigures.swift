#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What /metrics says about the process as a whole: when it started, its CPU time, memory
/// and descriptors. Read at each scrape, on the metrics thread; a figure the platform cannot
/// give is left out (nil).
struct ProcessFigures {
    /// When the process started, in seconds since the Unix epoch.
    var startTime: Double?
    /// User and system CPU time used so far, in seconds.
    var cpuSeconds: Double?
    var residentBytes: UInt64?
    var openDescriptors: UInt64?

    /// The figures now; `startTime` is read once by the caller (``startTimeNow()``) and passed in.
    static func now(startTime: Double?) -> ProcessFigures {
        var figures = ProcessFigures(startTime: startTime)
        var usage = rusage()
        #if canImport(Glibc)
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        if getrusage(who, &usage) == 0 {
            figures.cpuSeconds = usage.ru_utime.seconds + usage.ru_stime.seconds
        }
        #if os(Linux)
        if let statm = readSmallFile("/proc/self/statm")?.split(separator: " "), statm.count > 1,
           let pages = UInt64(statm[1]) {
            figures.residentBytes = pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
        }
        figures.openDescriptors = countEntries("/proc/self/fd")
        #endif
        return figures
    }

    /// When this process started: from /proc on Linux (the boot time plus the process's start
    /// in clock ticks after it), otherwise now (close enough, read as the server starts).
    static func startTimeNow() -> Double {
        #if os(Linux)
        if let stat = readSmallFile("/proc/self/stat"), let close = stat.lastIndex(of: ")"),
           let boot = readSmallFile("/proc/stat")?.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
           let bootSeconds = Double(boot.dropFirst("btime ".count)) {
            // After the command: state(0) … starttime(19), in clock ticks since boot.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 19, let ticks = Double(fields[19]) {
                return bootSeconds + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
            }
        }
        #endif
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

extension timeval {
    fileprivate var seconds: Double { Double(tv_sec) + Double(tv_usec) / 1e6 }
}

/// The text of a small file (a /proc entry), or nil.
private func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 1 << 20 {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Entries of a directory of descriptors, not counting ".", ".." and the descriptor reading
/// it; nil if it cannot be read.
private func countEntries(_ path: String) -> UInt64? {
    guard let dir = opendir(path) else { return nil }
    defer { closedir(dir) }
    var count: UInt64 = 0
    while readdir(dir) != nil { count += 1 }
    return count >= 3 ? count - 3 : 0
}

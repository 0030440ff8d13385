#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One process as /proc/PID/stat describes it.
struct ProcessStat: Sendable {
    var pid: Int32
    /// R, S, D, Z (zombie), T, …
    var state: Character
    var parent: Int32
    var group: Int32
    /// User + system CPU seconds of every thread so far.
    var cpuSeconds: Double
    /// The same for its children that exited and that it reaped (cutime + cstime).
    var reapedChildrenSeconds: Double
    /// When it started, in seconds since boot (CLOCK_BOOTTIME).
    var startedAt: Double

    /// kthreadd and the kernel's threads, which it starts.
    var isKernelThread: Bool { pid == 2 || parent == 2 }
}

/// What /proc says about processes: CPU time, memory, parents. Linux only; elsewhere every
/// reading is nil and the reports say "cannot measure".
enum ProcessProbe {
    static func stat(_ pid: Int32) -> ProcessStat? {
        guard let text = readText("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        // The fields after the command name (which may hold spaces and parentheses): state is
        // field 3 of the file, ppid 4, pgrp 5, utime 14, stime 15, cutime 16, cstime 17,
        // starttime 22.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let parent = Int32(fields[1]), let group = Int32(fields[2]),
              let user = Double(fields[11]), let system = Double(fields[12]),
              let childUser = Double(fields[13]), let childSystem = Double(fields[14]),
              let started = Double(fields[19]) else { return nil }
        let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
        return ProcessStat(pid: pid, state: state, parent: parent, group: group, cpuSeconds: (user + system) / tick,
                           reapedChildrenSeconds: (childUser + childSystem) / tick, startedAt: started / tick)
    }

    /// Every process this one can see.
    static func allStats() -> [ProcessStat] {
        guard let proc = opendir("/proc") else { return [] }
        defer { closedir(proc) }
        var found: [ProcessStat] = []
        while let entry = readdir(proc) {
            if let pid = Int32(entryName(entry)), let stat = stat(pid) { found.append(stat) }
        }
        return found
    }

    /// The processes whose parent is `pid` (zombies included).
    static func children(of parent: Int32) -> [Int32] {
        allStats().filter { $0.parent == parent }.map(\.pid)
    }

    /// `pid` and every process below it, by parent links: what a server started, forked
    /// children and their children included. Empty when `pid` is gone.
    static func tree(_ root: Int32) -> [ProcessStat] {
        let all = allStats()
        guard let top = all.first(where: { $0.pid == root }) else { return [] }
        var members = [top]
        var frontier: Set<Int32> = [root]
        while !frontier.isEmpty {
            let next = all.filter { frontier.contains($0.parent) }
            members += next
            frontier = Set(next.map(\.pid))
        }
        return members
    }

    /// Seconds since boot, on the clock /proc's start times count in.
    static func sinceBoot() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_BOOTTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// CPU seconds the whole machine has been busy (user, nice, system, irq, softirq and steal
    /// over every core), from the first line of /proc/stat.
    static func machineBusySeconds() -> Double? {
        guard let text = readText("/proc/stat"), let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else {
            return nil
        }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 8 else { return nil }
        // user nice system idle iowait irq softirq steal (guest time is inside user already)
        let busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]
        return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A process's resident memory, and the part of it no other process maps (private), from
    /// /proc/PID/smaps_rollup. nil when it cannot be read (another user's process) or the
    /// process is gone; zeros for a zombie.
    static func memory(_ pid: Int32) -> (resident: Int, private: Int)? {
        guard let text = readText("/proc/\(pid)/smaps_rollup") else { return nil }
        var resident = 0, unshared = 0
        for line in text.split(separator: "\n") {
            let kib = Int(line.filter(\.isNumber)) ?? 0
            if line.hasPrefix("Rss:") { resident = kib * 1024 }
            if line.hasPrefix("Private_Clean:") || line.hasPrefix("Private_Dirty:") { unshared += kib * 1024 }
        }
        return (resident, unshared)
    }

    /// A directory entry's name, read in place: the kernel's record may be shorter than
    /// `d_name`'s declared size, so copying the whole field could read past it.
    static func entryName(_ entry: UnsafeMutablePointer<dirent>) -> String {
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

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A cgroup v2 per server, where the machine lets echo-bench make them (root, or a delegated
/// subtree; on a hybrid v1/v2 machine in the v2 hierarchy, which needs no controller for this):
/// the kernel then counts the CPU time of every process the server ever started, however it
/// ended and whoever reaped it, and `cgroup.kill` ends them all, a child that left the process
/// group included. They live under `echo-bench.PID` beside echo-bench's own cgroup.
final class ServerCgroups {
    /// The cgroup echo-bench runs in, which it returns to after each spawn.
    let home: String
    let base: String
    private var made = 0

    /// nil where cgroup v2 is not mounted, or this process may not make or enter cgroups there.
    static func create() -> ServerCgroups? {
        guard let mount = cgroup2Mount(), let own = ownPath() else { return nil }
        let home = own == "/" ? mount : mount + own
        let base = home + "/echo-bench.\(getpid())"
        guard mkdir(base, 0o755) == 0 else { return nil }
        let cgroups = ServerCgroups(home: home, base: base)
        // Make sure the round trip a spawn makes works here: in, and back home.
        let probe = cgroups.makeGroup()
        let works = probe.map { cgroups.enter($0) && cgroups.enter(home) && CgroupUsage(path: $0, top: 0).cpuSeconds() != nil } ?? false
        if let probe { rmdir(probe) }
        return works ? cgroups : nil
    }

    private init(home: String, base: String) {
        self.home = home
        self.base = base
    }

    deinit { rmdir(base) }

    /// A fresh, empty cgroup for one server.
    func makeGroup() -> String? {
        made += 1
        let path = base + "/server-\(made)"
        return mkdir(path, 0o755) == 0 ? path : nil
    }

    /// Runs `spawn` from inside `path`, so that what it starts is born there (no moment in
    /// which a child it forks could be missed); then comes back.
    func spawnInside<T, E: Error>(_ path: String, _ spawn: () throws(E) -> T) throws(E) -> T {
        let entered = enter(path)
        defer { if entered { _ = enter(home) } }
        return try spawn()
    }

    /// Kills every process in `path` (they are reaped by their parents, or by echo-bench, their
    /// subreaper), waits for it to empty, bounded, and removes it.
    func remove(_ path: String) {
        if !writeText("1", to: path + "/cgroup.kill") {
            for pid in Self.members(path) { kill(pid, SIGKILL) }
        }
        let deadline = Monotonic.seconds() + 2
        while rmdir(path) != 0, errno == EBUSY, Monotonic.seconds() < deadline {
            var status: Int32 = 0
            while waitpid(-1, &status, WNOHANG) > 0 {}
            usleep(5_000)
        }
    }

    static func members(_ path: String) -> [Int32] {
        (ProcessProbe.readText(path + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    private func enter(_ path: String) -> Bool { writeText(String(getpid()), to: path + "/cgroup.procs") }

    private func writeText(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return text.withCString { write(fd, $0, strlen($0)) } == text.utf8.count
    }

    /// Where the cgroup v2 hierarchy is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified`
    /// on a hybrid machine), from /proc/self/mountinfo.
    private static func cgroup2Mount() -> String? {
        for line in (ProcessProbe.readText("/proc/self/mountinfo") ?? "").split(separator: "\n") {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
            let halves = line.split(separator: " - ", maxSplits: 1)
            let fields = halves[0].split(separator: " ")
            if halves.count == 2, halves[1].hasPrefix("cgroup2 "), fields.count > 4 { return String(fields[4]) }
        }
        return nil
    }

    /// This process's cgroup v2 path, from the `0::` line of /proc/self/cgroup.
    private static func ownPath() -> String? {
        (ProcessProbe.readText("/proc/self/cgroup") ?? "").split(separator: "\n")
            .first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) }
    }
}

/// A server's usage as its cgroup counts it: `usage_usec` of `cpu.stat` (which cgroup v2 keeps
/// without any controller enabled), and the memory of the processes in it.
final class CgroupUsage: ServerUsage {
    let path: String
    /// The process spawned into it: the server's first.
    let top: Int32
    static let method = "a cgroup v2 per server (every process it started, exited ones included)"
    var method: String { Self.method }

    init(path: String, top: Int32) {
        self.path = path
        self.top = top
    }

    func cpuSeconds() -> Double? {
        guard let text = ProcessProbe.readText(path + "/cpu.stat"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("usage_usec ") }),
              let micros = Double(line.dropFirst(11)) else { return nil }
        return micros / 1e6
    }

    func memoryBytes() -> Int? { ProcessTreeUsage.memory(of: processes(), top: top) }

    func processes() -> [Int32] { ServerCgroups.members(path) }
}

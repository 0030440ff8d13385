/// Where a server's CPU time and memory are read, whole: every process it started, forked
/// children included, and (for CPU) those that already exited. nil is "cannot measure" (another
/// user's process, /proc hidden), never 0.
protocol ServerUsage: AnyObject {
    /// User + system CPU seconds of the whole server so far.
    func cpuSeconds() -> Double?
    /// Memory of its live processes now: the first one's resident set, plus what each of the
    /// others holds privately (pages forked children share with it are counted once).
    func memoryBytes() -> Int?
    /// Its live processes now.
    func processes() -> [Int32]
    /// How the figures are read, for the report.
    var method: String { get }
}

/// A process and everything below it, from /proc. CPU time is each process's own plus the
/// times of the children it reaped (cutime, cstime), so a forking server's connections count
/// even after they ended, as long as their parent reaped them (socat, xinetd and inetd do).
/// A child whose parent exited first, or that a parent ignoring SIGCHLD let the kernel reap,
/// takes its time with it: a cgroup per server (``CgroupUsage``) sees those too.
final class ProcessTreeUsage: ServerUsage {
    let root: Int32
    static let method = "the server's process tree from /proc (children it reaped included)"
    var method: String { Self.method }

    init(root: Int32) { self.root = root }

    func cpuSeconds() -> Double? {
        let members = ProcessProbe.tree(root)
        guard !members.isEmpty else { return nil }
        return members.reduce(0) { $0 + $1.cpuSeconds + $1.reapedChildrenSeconds }
    }

    func memoryBytes() -> Int? { Self.memory(of: processes(), top: root) }

    func processes() -> [Int32] { ProcessProbe.tree(root).map(\.pid) }

    /// The resident memory of `top` (the server's first process) plus the private memory of
    /// every other of `pids`: a forked child's pages shared with its parent are counted once,
    /// and a one-process server reads as its resident set. nil when one cannot be read, or
    /// there is none.
    static func memory(of pids: [Int32], top: Int32) -> Int? {
        guard !pids.isEmpty else { return nil }
        let first = pids.contains(top) ? top : pids[0]
        var total = 0
        for pid in pids {
            guard let memory = ProcessProbe.memory(pid) else {
                // Gone between the listing and the read: nothing of it to count.
                if ProcessProbe.stat(pid) == nil { continue }
                return nil
            }
            total += pid == first ? memory.resident : memory.private
        }
        return total
    }
}

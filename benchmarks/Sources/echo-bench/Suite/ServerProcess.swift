import cbench
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A server started for one run: in its own process group (so a `sh -c` wrapper and all it
/// starts can be stopped together) and, where the machine allows, its own cgroup; stdout
/// discarded, stderr appended to a log file.
final class ServerProcess {
    let spawnedPID: pid_t
    let port: Int
    /// Where its CPU time and memory are read: all of it, whatever wraps or forks.
    let usage: ServerUsage
    private let cgroups: ServerCgroups?
    private let cgroup: String?

    struct LaunchError: Error { var message: String }

    init(arguments: [String], port: Int, logPath: String, cpu: Int?, cgroups: ServerCgroups?) throws(LaunchError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        // The child inherits this thread's CPU affinity: pin, spawn, then unpin by the caller.
        if let cpu { _ = cb_pin_to_cpu(Int32(cpu)) }
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let cgroup = cgroups?.makeGroup()
        let spawn = { posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ) }
        let status = if let cgroups, let cgroup { cgroups.spawnInside(cgroup, spawn) } else { spawn() }
        guard status == 0 else {
            if let cgroups, let cgroup { cgroups.remove(cgroup) }
            throw LaunchError(message: "cannot start \(arguments[0]): \(String(cString: strerror(status)))")
        }
        spawnedPID = pid
        self.port = port
        self.cgroups = cgroups
        self.cgroup = cgroup
        usage = cgroup.map { CgroupUsage(path: $0, top: pid) } ?? ProcessTreeUsage(root: pid)
    }

    /// Waits, bounded, until a TCP connect to the port succeeds.
    func waitUntilListening(host: String, timeout: Double) -> Bool {
        let deadline = Monotonic.seconds() + timeout
        while Monotonic.seconds() < deadline {
            if !isRunning || Interrupt.signal != nil { return false }
            if Self.canConnect(host: host, port: port) { return true }
            usleep(10_000)
        }
        return false
    }

    var isRunning: Bool {
        var status: Int32 = 0
        return waitpid(spawnedPID, &status, WNOHANG) == 0
    }

    /// Stops everything the server started: SIGTERM to its process group, SIGKILL after
    /// `grace` seconds (one after an interrupt: the person waiting wants the prompt back) to
    /// whatever of the group is left, then what is left in its cgroup and any orphan that left
    /// the group (echo-bench is their subreaper). Reaps them all; returns once none is left, or
    /// after a bounded wait.
    func stop(grace: Double = 3) {
        kill(-spawnedPID, SIGTERM)
        if !waitUntilGone(seconds: Interrupt.signal == nil ? grace : min(grace, 1)) {
            kill(-spawnedPID, SIGKILL)
            _ = waitUntilGone(seconds: 2)
        }
        if let cgroups, let cgroup { cgroups.remove(cgroup) }
        for orphan in ProcessProbe.children(of: getpid()) { kill(orphan, SIGKILL) }
        _ = waitUntil(seconds: 2) { Self.reapChildren() && ProcessProbe.children(of: getpid()).isEmpty }
    }

    /// Reaps every exited child (the server, and the orphans re-parented to us) until no process
    /// of the group is left.
    private func waitUntilGone(seconds: Double) -> Bool {
        waitUntil(seconds: seconds) { Self.reapChildren() && kill(-spawnedPID, 0) == -1 && errno == ESRCH }
    }

    private func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Monotonic.seconds() + seconds
        while !condition() {
            if Monotonic.seconds() >= deadline { return false }
            usleep(5_000)
        }
        return true
    }

    /// Collects every child that has exited; true, so it can lead a condition.
    private static func reapChildren() -> Bool {
        var status: Int32 = 0
        while waitpid(-1, &status, WNOHANG) > 0 {}
        return true
    }

    /// A plain blocking connect, closed at once.
    static func canConnect(host: String, port: Int) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let address = found else { return false }
        defer { freeaddrinfo(found) }
        let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0
    }

    /// A port that was free a moment ago: bound on port 0, then released for the server.
    static func freePort(host: String) -> Int? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, "0", &hints, &found) == 0, let address = found else { return nil }
        defer { freeaddrinfo(found) }
        let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard bind(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else { return nil }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        // sin_port and sin6_port sit at the same offset, in network byte order.
        let port = withUnsafeBytes(of: bound) { UInt16($0[2]) << 8 | UInt16($0[3]) }
        return Int(port)
    }
}

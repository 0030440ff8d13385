import cbench
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A server started for one run: in its own process group (so a `sh -c` wrapper and all it
/// starts can be stopped together), stdout discarded, stderr appended to a log file.
final class ServerProcess {
    let spawnedPID: pid_t
    /// The process that owns the listening socket: the one whose CPU and memory we read.
    private(set) var serverPID: pid_t
    let port: Int

    struct LaunchError: Error { var message: String }

    init(arguments: [String], port: Int, logPath: String, cpu: Int?) throws(LaunchError) {
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
        let status = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard status == 0 else {
            throw LaunchError(message: "cannot start \(arguments[0]): \(String(cString: strerror(status)))")
        }
        spawnedPID = pid
        serverPID = pid
        self.port = port
    }

    /// Waits, bounded, until a TCP connect to the port succeeds; then finds the owner.
    func waitUntilListening(host: String, timeout: Double) -> Bool {
        let deadline = Monotonic.seconds() + timeout
        while Monotonic.seconds() < deadline {
            if !isRunning || Interrupt.signal != nil { return false }
            if Self.canConnect(host: host, port: port) {
                serverPID = ProcessProbe.listeningProcess(port: port) ?? spawnedPID
                return true
            }
            usleep(20_000)
        }
        return false
    }

    var isRunning: Bool {
        var status: Int32 = 0
        return waitpid(spawnedPID, &status, WNOHANG) == 0
    }

    /// Stops everything the server started: SIGTERM to its process group, SIGKILL after
    /// `grace` seconds (one after an interrupt: the person waiting wants the prompt back) to
    /// whatever of the group is left, then any orphan that left the group (echo-bench is their
    /// subreaper). Reaps them all; returns once none is left, or after a bounded wait.
    func stop(grace: Double = 3) {
        kill(-spawnedPID, SIGTERM)
        if !waitUntilGone(seconds: Interrupt.signal == nil ? grace : min(grace, 1)) {
            kill(-spawnedPID, SIGKILL)
            _ = waitUntilGone(seconds: 2)
        }
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

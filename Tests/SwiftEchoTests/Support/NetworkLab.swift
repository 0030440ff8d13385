import Foundation
import Glibc
import Synchronization
import Testing

/// A real network path for tests, which loopback cannot be: the daemon in one network
/// namespace, the clients in another, joined by a veth pair with addresses from 198.18.0.0/15
/// (RFC 2544's benchmarking range, which exists only inside the two namespaces). Faults come
/// from the kernel's own tools: `ip link set … down` (a peer that vanishes: no FIN, no reset)
/// and nftables rules (random loss; dropping everything towards the client, which then stops
/// acknowledging). There is no `netem` here, so no delay or reordering.
///
/// Needs root, `ip` (iproute2) and `nft` (nftables). Both namespaces are deleted on `deinit`,
/// whatever the test did, together with any process still inside them. A test process that
/// dies before that leaves them behind; their names carry the creator's pid and start time,
/// so the next lab made on this machine finds and deletes them.
final class NetworkLab: @unchecked Sendable {
    static let serverAddress = "198.18.0.1"
    static let clientAddress = "198.18.0.2"
    /// The veth ends, one in each namespace (names are per namespace, so every lab uses these).
    static let serverDevice = "swecho-s"
    static let clientDevice = "swecho-c"

    let serverNamespace: String
    let clientNamespace: String
    private var deleted = false

    /// Why labs cannot be made here, or nil when they can.
    static let unavailableReason: String? = {
        if geteuid() != 0 { return "needs root (network namespaces, veth, nftables)" }
        if ipPath == nil { return "needs ip (apt-get install iproute2)" }
        if nftPath == nil { return "needs nft (apt-get install nftables)" }
        if setnsFunction == nil { return "this C library has no setns()" }
        return nil
    }()

    /// For `.enabled(if:)`. Where CI asks for them (SWIFTECHO_REQUIRE_NETNS=1), the tests run
    /// even without what they need, and fail saying what is missing, rather than skip.
    static var enabled: Bool {
        unavailableReason == nil || ProcessInfo.processInfo.environment["SWIFTECHO_REQUIRE_NETNS"] == "1"
    }
    static var skipComment: Comment { Comment(rawValue: "real-network tests \(unavailableReason ?? "can run")") }

    private static let ipPath = [String](arrayLiteral: "/usr/sbin/ip", "/sbin/ip", "/bin/ip").first { access($0, X_OK) == 0 }
    private static let nftPath = [String](arrayLiteral: "/usr/sbin/nft", "/sbin/nft").first { access($0, X_OK) == 0 }
    private static let serial = Atomic<Int>(0)
    private static let prefix = "swecho-"
    /// Leftovers of dead test processes are swept once per process, before the first lab.
    private static let swept = Mutex(false)

    /// Makes both namespaces and the link between them, up and addressed.
    init() throws {
        if let reason = Self.unavailableReason { throw TestClientError("NetworkLab: \(reason)") }
        Self.swept.withLock { done in
            if !done { Self.sweepLeftovers() }
            done = true
        }
        let n = Self.serial.add(1, ordering: .relaxed).newValue
        let name = "\(Self.prefix)\(getpid())-\(Self.startTime(of: getpid()) ?? 0)-\(n)"
        serverNamespace = name + "-s"
        clientNamespace = name + "-c"
        do {
            try ip(["netns", "add", serverNamespace])
            try ip(["netns", "add", clientNamespace])
            try ip(["link", "add", Self.serverDevice, "netns", serverNamespace, "type", "veth",
                    "peer", "name", Self.clientDevice, "netns", clientNamespace])
            try ip(["-n", serverNamespace, "addr", "add", "\(Self.serverAddress)/30", "dev", Self.serverDevice])
            try ip(["-n", clientNamespace, "addr", "add", "\(Self.clientAddress)/30", "dev", Self.clientDevice])
            for (namespace, device) in [(serverNamespace, Self.serverDevice), (clientNamespace, Self.clientDevice)] {
                try ip(["-n", namespace, "link", "set", "lo", "up"])
                try ip(["-n", namespace, "link", "set", device, "up"])
            }
        } catch {
            delete()
            throw error
        }
    }

    deinit { delete() }

    /// Deletes both namespaces, killing what still runs inside them first (a namespace with
    /// a process in it lives on after `ip netns del`, veth and all).
    func delete() {
        guard !deleted else { return }
        deleted = true
        for namespace in [serverNamespace, clientNamespace] { Self.remove(namespace) }
    }

    // MARK: - The daemon and its clients

    /// `echo-cli ARGUMENTS` in the server namespace, listening on the server address (port 0),
    /// once it logs `listening on`.
    func serve(_ arguments: [String], environment: [String: String] = [:]) throws -> Daemon {
        try Daemon.started(["netns", "exec", serverNamespace, Daemon.binaryPath,
                            "--host", Self.serverAddress, "--port", "0"] + arguments,
                           listeners: 1, environment: environment, program: Self.ipPath!)
    }

    /// A client in the client namespace, connected to the daemon.
    func connect(port: Int, timeout: Double = 10) throws -> TestClient {
        try inClientNamespace { try TestClient(host: Self.serverAddress, port: port, timeout: timeout) }
    }

    /// Runs `body` on a thread of its own that has entered the client namespace: the sockets
    /// it makes live there (a socket keeps the namespace it was made in), wherever they are
    /// used afterwards. Bounded by `timeout`.
    func inClientNamespace<Value: Sendable>(timeout: Double = 30,
                                            _ body: @escaping @Sendable () throws -> Value) throws -> Value {
        let path = "/run/netns/\(clientNamespace)"
        return try Background {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw TestClientError("open(\(path)): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            // Only this thread moves; it ends when the body returns.
            guard Self.setnsFunction!(fd, Self.cloneNewNet) == 0 else {
                throw TestClientError("setns(\(path)): \(String(cString: strerror(errno)))")
            }
            return try body()
        }.value(timeout: timeout)
    }

    // MARK: - Faults

    /// The client's end of the link goes down: the client vanishes, with no FIN and no reset,
    /// and nothing the server sends reaches it any more (or `up` again).
    func setClientLink(up: Bool) throws {
        try ip(["-n", clientNamespace, "link", "set", Self.clientDevice, up ? "up" : "down"])
    }

    /// Drops `percent` % of TCP packets at random in each direction (each namespace's input).
    func dropRandomly(percent: Int) throws {
        for namespace in [serverNamespace, clientNamespace] {
            try nft(namespace, "add rule inet swecho input meta l4proto tcp numgen random mod 100 < \(percent) counter drop")
        }
    }

    /// Packets the counting rules of both namespaces dropped so far: proof that a lossy test
    /// lost something.
    func droppedPackets() throws -> Int {
        try [serverNamespace, clientNamespace].reduce(0) { total, namespace in
            let listing = try Self.output(Self.ipPath!, ["netns", "exec", namespace, Self.nftPath!, "list", "table", "inet", "swecho"])
            let words = listing.split(whereSeparator: \.isWhitespace)
            return total + zip(words, words.dropFirst()).filter { $0.0 == "packets" }.compactMap { Int($0.1) }.reduce(0, +)
        }
    }

    /// Drops everything that arrives in the client namespace: the client still sends, but
    /// acknowledges nothing more, as a peer whose return path failed.
    func dropEverythingTowardsClient() throws {
        try nft(clientNamespace, "add rule inet swecho input drop")
    }

    /// Adds `rule` to a filter table on the input hook of `namespace`, made on first use.
    private func nft(_ namespace: String, _ rule: String) throws {
        try run(Self.ipPath!, ["netns", "exec", namespace, Self.nftPath!,
                               "add table inet swecho\n"
                               + "add chain inet swecho input { type filter hook input priority 0; }\n"
                               + rule])
    }

    private func ip(_ arguments: [String]) throws {
        try run(Self.ipPath!, arguments)
    }

    // MARK: - Cleanup of this run and of dead ones

    /// Deletes every lab namespace whose creator is gone (its pid no longer runs, or another
    /// process now has that pid).
    private static func sweepLeftovers() {
        guard let listing = try? output(ipPath!, ["netns", "list"]) else { return }
        for line in listing.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix(prefix) else { continue }
            let parts = name.dropFirst(prefix.count).split(separator: "-")
            guard parts.count == 4, let pid = pid_t(parts[0]), let start = UInt64(parts[1]) else { continue }
            if startTime(of: pid) != start { remove(name) }
        }
    }

    /// Kills what runs in `namespace`, then deletes it.
    private static func remove(_ namespace: String) {
        if let pids = try? output(ipPath!, ["netns", "pids", namespace]) {
            for pid in pids.split(separator: "\n").compactMap({ pid_t($0) }) {
                kill(pid, SIGKILL)
            }
        }
        _ = try? output(ipPath!, ["netns", "del", namespace])
    }

    /// When process `pid` started (clock ticks since boot, field 22 of /proc/PID/stat), nil
    /// when there is no such process: with the pid, it names one process for good.
    private static func startTime(of pid: pid_t) -> UInt64? {
        guard let text = readText("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil  // after the command: state(0) ... starttime(19)
    }

    private func run(_ program: String, _ arguments: [String]) throws {
        _ = try Self.output(program, arguments)
    }

    /// Runs `program` to completion (within 10 s) and returns its standard output; throws
    /// with its standard error when it fails.
    private static func output(_ program: String, _ arguments: [String]) throws -> String {
        let result = try Daemon.run(arguments, timeout: 10, program: program)
        guard result.termination == .exited(0) else {
            throw TestClientError("\(program) \(arguments.joined(separator: " ")): \(result.termination)\n\(result.stderr)")
        }
        return result.stdout
    }

    /// `setns(2)`, which the Glibc module does not import (it needs _GNU_SOURCE).
    private static let setnsFunction: (@convention(c) (Int32, Int32) -> Int32)? = {
        // A nil handle is RTLD_DEFAULT.
        guard let symbol = dlsym(nil, "setns") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }()
    private static let cloneNewNet: Int32 = 0x4000_0000  // CLONE_NEWNET
}

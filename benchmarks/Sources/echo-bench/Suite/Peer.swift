#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Echo servers people already run, one `--peers` name away: each is a `--compare` command
/// the suite knows how to write. (inetd is not among them: its internal echo listens on the
/// port its service name gives, 7, so it cannot take the free port each run is given.)
enum Peer: String, CaseIterable, Sendable {
    /// socat forking a `cat` per connection: the shell one-liner an operator reaches for.
    case socat
    /// xinetd's internal echo: the classic super-server, which forks per connection.
    case xinetd
    /// Python's asyncio with a protocol per connection (benchmarks/peers/asyncio_echo.py).
    case asyncio

    /// The program that must be installed.
    var program: String {
        switch self {
        case .socat: "socat"
        case .xinetd: "xinetd"
        case .asyncio: "python3"
        }
    }

    /// Where to get it, for the error when it is missing.
    var hint: String {
        switch self {
        case .socat: "Debian: apt-get install socat"
        case .xinetd: "Debian: apt-get install xinetd"
        case .asyncio: "python3 3.8 or later, and benchmarks/peers/asyncio_echo.py from this repository"
        }
    }

    /// The `--compare` command, or nil with the reason it cannot run here.
    func command() -> Result<String, PeerUnavailable> {
        guard let path = Self.find(program) else { return .failure(PeerUnavailable(peer: self, what: "\(program) is not installed")) }
        switch self {
        case .socat:
            // backlog: socat's default of 5 would refuse connections when a thousand arrive at once.
            return .success("exec \(path.shellQuoted) TCP-LISTEN:{port},bind={host},reuseaddr,fork,backlog=1024 EXEC:cat")
        case .xinetd:
            // Its own configuration, written per run in the logs folder; no connection-rate
            // limit, no instance cap; its log goes to stderr, which the suite keeps.
            let conf = "{logs}/xinetd-{port}.conf"
            let lines = ["defaults", "{", "instances = UNLIMITED", "per_source = UNLIMITED", "cps = 1000000 1", "}",
                         "service echo", "{", "type = INTERNAL UNLISTED", "id = echo-stream", "socket_type = stream",
                         "protocol = tcp", "wait = no", "user = $(id -un)", "bind = {host}", "port = {port}", "}"]
            return .success("printf '%s\\n' \(lines.map { "\"\($0)\"" }.joined(separator: " ")) > \(conf) && "
                + "exec \(path.shellQuoted) -dontfork -stayalive -filelog /dev/stderr -f \(conf)")
        case .asyncio:
            guard let script = Self.findScript("benchmarks/peers/asyncio_echo.py") else {
                return .failure(PeerUnavailable(peer: self, what: "benchmarks/peers/asyncio_echo.py was not found above echo-bench or the current folder"))
            }
            return .success("exec \(path.shellQuoted) \(script.shellQuoted) --host {host} --port {port}")
        }
    }

    /// The peers whose programs are installed here.
    static var installed: [Peer] { allCases.filter { (try? $0.command().get()) != nil } }

    /// `program` in PATH, or in the sbin folders where super-servers live.
    static func find(_ program: String) -> String? {
        let path = (getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin:/usr/local/sbin"
        for folder in path.split(separator: ":") where access("\(folder)/\(program)", X_OK) == 0 {
            return "\(folder)/\(program)"
        }
        return nil
    }

    /// A file of this repository: looked for above echo-bench's own folder (it is built in
    /// .build/...), then above the current one.
    private static func findScript(_ relative: String) -> String? {
        let starts = [SuiteCommand.defaultEchoCLI().split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"),
                      currentFolder()]
        for start in starts {
            var folder = start
            for _ in 0..<6 where !folder.isEmpty {
                if access("\(folder)/\(relative)", R_OK) == 0 { return "\(folder)/\(relative)" }
                folder = folder.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            }
        }
        return nil
    }

    private static func currentFolder() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        return getcwd(&buffer, buffer.count) != nil ? String(cBuffer: buffer) : ""
    }
}

/// A peer asked for by name that cannot run here.
struct PeerUnavailable: Error {
    var peer: Peer
    var what: String
    var message: String { "--peers \(peer.rawValue): \(what) (\(peer.hint))." }
}

/// Everything the echo daemon can be told, as one validated value.
///
/// Build one with ``CommandLineInterface/parse(arguments:environment:readFile:)`` (defaults, then
/// the JSON file, then `ECHO_*` variables, then flags) or set the properties directly and call
/// ``validate(availableBackends:)``. Every property here is one row of the settings table, so
/// the command line, the environment and the file accept exactly the same values.
public struct Configuration: Sendable, Equatable {
    /// Address or host name to listen on (`--host`) when ``listen`` is empty. Never empty.
    public var host: String
    /// TCP port to listen on (`--port`) when ``listen`` is empty, 0...65535; 0 lets the system
    /// pick a free one.
    public var port: Int
    /// Where to listen (`--listen`, repeatable): TCP and Unix-domain addresses. When not empty,
    /// it replaces ``host`` and ``port``; the command line refuses both at once.
    public var listen: [ListenAddress]
    /// Permissions of the Unix socket files the server creates (`--unix-mode`), 0...0o777.
    public var unixMode: Int
    /// Readiness backend (`--backend`).
    public var backend: Backend
    /// Event loops serving connections (`--threads`), each on its own thread, 0...1024; 0 means
    /// one per CPU the process may run on (see ``resolvedThreads``).
    public var threads: Int
    /// Length of the kernel's queue of not-yet-accepted connections (`--backlog`), 1...65535.
    public var backlog: Int
    /// Most connections served at once (`--max-connections`), 1...1_000_000.
    public var maxConnections: Int
    /// Most bytes queued for one connection's output (`--output-limit`), 1 KiB...1 GiB.
    public var outputLimit: Int
    /// How long pending output may make no progress before the connection is closed
    /// (`--write-timeout`), 0...86400 s; zero turns the limit off.
    public var writeTimeout: Duration
    /// How long a connection may go with no byte read or written before it is closed (`--idle-timeout`),
    /// 0...86400 s; zero turns the limit off.
    public var idleTimeout: Duration
    /// How long a TCP connection may be idle before the kernel starts probing whether its peer
    /// is still there (`--keepalive`), 0...32767 s, rounded up to whole seconds; zero turns
    /// the probes off. Probes follow every third of it, and the third unanswered one ends the
    /// connection, so a vanished peer is found within about twice this.
    public var keepalive: Duration
    /// How long a graceful shutdown waits for connections to drain (`--shutdown-timeout`),
    /// 0...3600 s; zero closes them at once.
    public var shutdownTimeout: Duration
    /// How messages are cut from the byte stream (`--framing`).
    public var framing: Framing
    /// Largest message payload in `line` and `length` framing, terminator or header not
    /// counted (`--max-message`), 1 byte...1 GiB. A larger one closes its connection.
    public var maxMessage: Int
    /// How long a connection may hold an incomplete message before it is closed
    /// (`--frame-timeout`), 0...86400 s; zero turns the limit off.
    public var frameTimeout: Duration
    /// Largest reply a hook may write for one message (`--max-reply`), 1 byte...1 GiB. A larger
    /// one is not sent and closes its connection.
    public var maxReply: Int
    /// The built-in hook the daemon answers with (`--hook`). A server given a ``Hook`` in code
    /// uses that instead.
    public var hook: BuiltinHook
    /// A hook call slower than this is logged and counted (`--slow-hook`), 0...3600 s; zero
    /// turns the check off.
    public var slowHook: Duration
    /// How long a deferred or async reply may take (`--reply-timeout`), 0...86400 s: past it,
    /// its connection closes after the replies before it, and an async hook's task is
    /// cancelled. Zero turns the limit off.
    public var replyTimeout: Duration
    /// The least severe level that is logged (`--log-level`).
    public var logLevel: LogLevel
    /// How log lines are written (`--log-format`).
    public var logFormat: LogFormat
    /// Where `echo-cli` writes its process ID once it listens (`--pid-file`), for init systems
    /// that want one; nil writes none. The server itself does not read it.
    public var pidFile: String?
    /// Also serve UDP echo on the same addresses and ports (`--udp`).
    public var udp: Bool
    /// UDP replies per second to one source address (an IPv6 /64), with a burst of as many
    /// (`--udp-rate`), 1...1_000_000.
    public var udpRate: Int
    /// The only client addresses served (`--allow`, repeatable): IPv4 or IPv6 ranges such as
    /// `10.0.0.0/8`, or bare addresses. Empty: every address. Unix-socket clients are not checked.
    public var allow: [String]
    /// Most TCP connections one client address may hold at once (`--max-connections-per-ip`),
    /// 0...1_000_000; zero turns the limit off.
    public var maxConnectionsPerIP: Int
    /// Where to serve metrics and health checks over HTTP (`--metrics`): `GET /metrics`,
    /// `/livez`, `/readyz`, on a loop and thread of their own. nil serves none.
    public var metrics: ListenAddress?
    /// On a graceful stop, how long the server goes on accepting while it reports not ready
    /// (`--drain-delay`), 0...3600 s, so that a load balancer's health checks take it out
    /// before its listeners close; zero closes them at once.
    public var drainDelay: Duration
    /// Every TCP connection (IP or Unix listener) must begin with a PROXY protocol header, v1
    /// or v2 (`--proxy-protocol`): its source address then stands for the client's everywhere.
    public var proxyProtocol: Bool
    /// Who may send a PROXY header (`--proxy-from`, repeatable): IPv4 or IPv6 ranges; a
    /// connection from anyone else is closed at once. Unix-socket peers are always trusted.
    public var proxyFrom: [String]
    /// How long a connection may take to send its whole PROXY header (`--proxy-timeout`),
    /// 0.001...3600 s.
    public var proxyTimeout: Duration

    /// A configuration with the given values; every parameter defaults to the daemon's default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 10000,
        listen: [ListenAddress] = [],
        unixMode: Int = 0o660,
        backend: Backend = .auto,
        threads: Int = 1,
        backlog: Int = 1024,
        maxConnections: Int = 10000,
        outputLimit: Int = 256 * 1024,
        writeTimeout: Duration = .seconds(60),
        idleTimeout: Duration = .zero,
        keepalive: Duration = .seconds(300),
        shutdownTimeout: Duration = .seconds(5),
        framing: Framing = .raw,
        maxMessage: Int = 1024 * 1024,
        frameTimeout: Duration = .seconds(30),
        maxReply: Int = 4 * 1024 * 1024,
        hook: BuiltinHook = .echo,
        slowHook: Duration = .milliseconds(100),
        replyTimeout: Duration = .seconds(30),
        logLevel: LogLevel = .info,
        logFormat: LogFormat = .text,
        pidFile: String? = nil,
        udp: Bool = false,
        udpRate: Int = 1000,
        allow: [String] = [],
        maxConnectionsPerIP: Int = 0,
        metrics: ListenAddress? = nil,
        drainDelay: Duration = .zero,
        proxyProtocol: Bool = false,
        proxyFrom: [String] = ["127.0.0.0/8", "::1/128"],
        proxyTimeout: Duration = .seconds(3)
    ) {
        self.host = host
        self.port = port
        self.listen = listen
        self.unixMode = unixMode
        self.backend = backend
        self.threads = threads
        self.backlog = backlog
        self.maxConnections = maxConnections
        self.outputLimit = outputLimit
        self.writeTimeout = writeTimeout
        self.idleTimeout = idleTimeout
        self.keepalive = keepalive
        self.shutdownTimeout = shutdownTimeout
        self.framing = framing
        self.maxMessage = maxMessage
        self.frameTimeout = frameTimeout
        self.maxReply = maxReply
        self.hook = hook
        self.slowHook = slowHook
        self.replyTimeout = replyTimeout
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.pidFile = pidFile
        self.udp = udp
        self.udpRate = udpRate
        self.allow = allow
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.metrics = metrics
        self.drainDelay = drainDelay
        self.proxyProtocol = proxyProtocol
        self.proxyFrom = proxyFrom
        self.proxyTimeout = proxyTimeout
    }
}

extension Configuration {
    /// Every setting of the daemon, described once, in the order help lists them. The command
    /// line, the environment and the JSON file all parse and validate through these rows.
    ///
    /// To add a setting: add a property (and its `init` default) to ``Configuration``, then one
    /// row here. `.single` rows hold one value; `.repeated` rows (a `[Value]` property) collect
    /// several. `ValueFormat.boolean` gives a bare flag such as `--udp`.
    static let settingsTable = SettingsTable<Configuration>(
        defaults: Configuration(),
        environmentPrefix: "ECHO_",
        settings: [
            .single(
                "host", valueName: "host",
                .text(expectation: "a non-empty host name or address", isValid: { !$0.isEmpty }),
                \.host,
                help: "Address or host name to listen on. IPv6 literals such as ::1 work."),
            .single(
                "port", valueName: "port", .integer(in: 0...65535), \.port,
                help: "TCP port; 0 picks a free port."),
            .repeated(
                "listen", valueName: "address", .listenAddress, \.listen,
                help: "Listen here instead of --host and --port; repeat for several addresses:"
                    + " HOST:PORT, [IPV6]:PORT (port 0 picks a free one for that address), or"
                    + " unix:PATH for a Unix-domain socket. A comma-separated list in ECHO_LISTEN."),
            .single(
                "unix-mode", valueName: "mode", .permissions, \.unixMode,
                help: "Permissions of the Unix socket files --listen creates, in octal."),
            .single(
                "backend", valueName: "backend", .choice, \.backend,
                help: "Event backend; auto picks epoll on Linux, kqueue on BSD/macOS, poll elsewhere;"
                    + " io_uring is Linux's completion queue (6.1 or later)."),
            .single(
                "threads", valueName: "count", .integer(in: 0...Configuration.maxThreads), \.threads,
                help: "Event loops, each on its own thread with its own connections; 0 means one"
                    + " per CPU this process may run on."),
            .single(
                "backlog", valueName: "count", .integer(in: 1...65535), \.backlog,
                help: "Connections the kernel queues before they are accepted."),
            .single(
                "max-connections", valueName: "count", .integer(in: 1...1_000_000),
                \.maxConnections,
                help: "Most connections served at once."),
            .single(
                "max-connections-per-ip", valueName: "count", .integer(in: 0...1_000_000),
                \.maxConnectionsPerIP,
                help: "Most TCP connections one client address may hold at once (IPv4-mapped"
                    + " clients count as their IPv4 address); the next is closed at once. 0 turns"
                    + " it off."),
            .repeated(
                "allow", valueName: "cidr", .addressRange, \.allow,
                help: "Serve only clients in this range (10.0.0.0/8, fd00::/8, or one address);"
                    + " repeat for more. Others are closed at accept and their datagrams dropped."
                    + " Unix-socket clients are not checked."),
            .single(
                "udp", valueName: "udp", .boolean, \.udp,
                help: "Also serve UDP echo on the same addresses and ports, protected against"
                    + " reflection: no replies to source ports 0, 7, 13, 17, 19, none larger than"
                    + " their datagram, and at most --udp-rate per source."),
            .single(
                "udp-rate", valueName: "per-second", .integer(in: 1...1_000_000), \.udpRate,
                help: "UDP replies per second to one source address (an IPv6 /64), with a burst"
                    + " of as many; the rest are dropped."),
            .single(
                "output-limit", valueName: "bytes",
                .size(in: ValueSyntax.kibibyte...ValueSyntax.gibibyte), \.outputLimit,
                help: "Most bytes queued for one connection that reads slower than it sends."),
            .single(
                "write-timeout", valueName: "seconds", .seconds(in: .zero ... .seconds(86400)),
                \.writeTimeout,
                help: "Close a connection whose pending output makes no progress for this long;"
                    + " 0 turns it off."),
            .single(
                "idle-timeout", valueName: "seconds", .seconds(in: .zero ... .seconds(86400)),
                \.idleTimeout,
                help: "Close a connection with no byte read or written for this long;"
                    + " 0 turns it off."),
            .single(
                "keepalive", valueName: "seconds", .seconds(in: .zero ... .seconds(32767)), \.keepalive,
                help: "Probe a TCP connection idle this long (whole seconds) to find a peer that"
                    + " vanished; it is closed when three probes a third of this apart go"
                    + " unanswered. 0 turns it off."),
            .single(
                "shutdown-timeout", valueName: "seconds", .seconds(in: .zero ... .seconds(3600)),
                \.shutdownTimeout,
                help: "On SIGTERM or SIGINT, wait this long for connections to finish;"
                    + " 0 closes them at once."),
            .single(
                "framing", valueName: "framing", .choice, \.framing,
                help: "How messages end: raw (each read is one message, as it arrives), line"
                    + " (at \\n or \\r\\n), or length (a 4-byte big-endian length first)."),
            .single(
                "max-message", valueName: "bytes", .size(in: 1...ValueSyntax.gibibyte), \.maxMessage,
                help: "Largest message payload in line and length framing; a larger one"
                    + " closes its connection after the replies before it."),
            .single(
                "frame-timeout", valueName: "seconds", .seconds(in: .zero ... .seconds(86400)),
                \.frameTimeout,
                help: "Close a connection that holds an incomplete message this long;"
                    + " 0 turns it off."),
            .single(
                "hook", valueName: "hook", .hook, \.hook,
                help: "What answers each message: echo runs in C; upper, lower and rot13 change"
                    + " ASCII letters only; reverse reverses the bytes; prefix:TEXT writes TEXT"
                    + " first; fail-every:N echoes but fails every Nth message of a connection,"
                    + " closing it (fault injection); async-upper is upper as an async hook (what one"
                    + " costs); delay:MS or delay:MIN-MAX echoes each message"
                    + " after that many milliseconds (random in the range), without holding the"
                    + " loop. With raw framing a transform applies to each chunk as it arrives."),
            .single(
                "max-reply", valueName: "bytes", .size(in: 1...ValueSyntax.gibibyte), \.maxReply,
                help: "Largest reply a hook may write for one message; a larger one is not"
                    + " sent and closes its connection."),
            .single(
                "slow-hook", valueName: "seconds", .seconds(in: .zero ... .seconds(3600)),
                \.slowHook,
                help: "Log and count a hook call slower than this (it delays every connection"
                    + " of its loop); 0 turns it off."),
            .single(
                "reply-timeout", valueName: "seconds", .seconds(in: .zero ... .seconds(86400)),
                \.replyTimeout,
                help: "Close a connection whose deferred or async reply is not ready this long"
                    + " after its message, once the replies before it are sent (an async hook's"
                    + " task is cancelled); 0 turns it off."),
            .single(
                "log-level", valueName: "level", .choice, \.logLevel,
                help: "Least severe level logged."),
            .single(
                "log-format", valueName: "format", .choice, \.logFormat,
                help: "text for people, json for log collectors (one object per line)."),
            .single(
                "pid-file", valueName: "path", .optionalPath, \.pidFile,
                help: "Write the process ID to this file once listening, and remove it on exit;"
                    + " a file naming a live process is refused, a stale one replaced."),
            .single(
                "metrics", valueName: "address", .optionalTCPAddress, \.metrics,
                help: "Serve Prometheus metrics (GET /metrics) and health checks (/livez, and"
                    + " /readyz, 503 once a graceful stop begins) over HTTP at HOST:PORT, on a"
                    + " thread of their own; port 0 picks a free one. Off unless given."),
            .single(
                "drain-delay", valueName: "seconds", .seconds(in: .zero ... .seconds(3600)), \.drainDelay,
                help: "On a graceful stop, go on accepting this long while /readyz answers 503, so"
                    + " a load balancer's health checks take this instance out before its listeners"
                    + " close; 0 closes them at once."),
            .single(
                "proxy-protocol", valueName: "proxy-protocol", .boolean, \.proxyProtocol,
                help: "Every TCP connection must begin with a PROXY protocol header (v1 or v2, as"
                    + " HAProxy's send-proxy and send-proxy-v2 write): the client address it names"
                    + " is used for --allow, --max-connections-per-ip, logs and hooks."),
            .repeated(
                "proxy-from", valueName: "cidr", .addressRange, \.proxyFrom,
                help: "Who may send a PROXY header (a range or an address; repeat for more); a"
                    + " connection from anyone else is closed at once. Unix-socket peers are"
                    + " trusted."),
            .single(
                "proxy-timeout", valueName: "seconds", .seconds(in: .milliseconds(1) ... .seconds(3600)),
                \.proxyTimeout,
                help: "Close a connection whose PROXY header is not complete within this long."),
        ]
    )
}

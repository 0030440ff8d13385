/// The counters of the `stats` line as Prometheus families: one table, so that every counter
/// is exposed once, under a name that follows Prometheus's conventions (`echo_` prefix,
/// `_total` on counters, units in the name), with the dimensions a stats key spells with dots
/// (`refused.per_ip`) as labels (`reason="per_ip"`).
struct StatsFamily: Sendable {
    /// One series of the family: the stats-line key it comes from and its extra label.
    struct Member: Sendable {
        let key: String
        let label: (String, String)?
        let value: KeyPath<ServerStats, UInt64> & Sendable
    }

    let name: String
    let type: PrometheusText.MetricType
    let help: String
    let members: [Member]

    init(_ name: String, _ type: PrometheusText.MetricType = .counter, help: String, _ members: [Member]) {
        self.name = name
        self.type = type
        self.help = help
        self.members = members
    }

    /// Every family, in the order /metrics lists them. A counter added to ``ServerStats``'s
    /// `metadata` belongs here too (a test checks that every stats key is exposed).
    static let all: [StatsFamily] = [
        StatsFamily("echo_connections_accepted_total", help: "Client connections taken into service.",
                    [Member(key: "accepted", label: nil, value: \.accepted)]),
        StatsFamily("echo_connections_active", .gauge, help: "Client connections open now.",
                    [Member(key: "active", label: nil, value: \.active)]),
        StatsFamily("echo_connections_closed_total", help: "Served connections closed, for any reason.",
                    [Member(key: "closed", label: nil, value: \.closed)]),
        StatsFamily("echo_connections_refused_total", help: "Connections closed at accept, by reason.", [
            Member(key: "refused.max_connections", label: ("reason", "max_connections"), value: \.refusedMaxConnections),
            Member(key: "refused.fd_setsize", label: ("reason", "fd_setsize"), value: \.refusedFDSetSize),
            Member(key: "refused.no_descriptors", label: ("reason", "no_descriptors"), value: \.refusedNoDescriptors),
            Member(key: "refused.not_allowed", label: ("reason", "not_allowed"), value: \.refusedNotAllowed),
            Member(key: "refused.per_ip", label: ("reason", "per_ip"), value: \.refusedPerIP),
            Member(key: "refused.proxy_untrusted", label: ("reason", "proxy_untrusted"), value: \.refusedProxyUntrusted),
        ]),
        StatsFamily("echo_received_bytes_total", help: "Bytes read from clients.",
                    [Member(key: "bytes.in", label: nil, value: \.bytesIn)]),
        StatsFamily("echo_sent_bytes_total", help: "Bytes sent to clients.",
                    [Member(key: "bytes.out", label: nil, value: \.bytesOut)]),
        StatsFamily("echo_partial_writes_total", help: "Sends the kernel took only in part; the rest was queued.",
                    [Member(key: "writes.partial", label: nil, value: \.partialWrites)]),
        StatsFamily("echo_backpressure_pauses_total",
                    help: "Times a connection's reading paused because its pending output passed the limit.",
                    [Member(key: "backpressure.pauses", label: nil, value: \.backpressurePauses)]),
        StatsFamily("echo_timeouts_total", help: "Connections closed by a timeout, by kind.", [
            Member(key: "timeouts.idle", label: ("kind", "idle"), value: \.idleTimeouts),
            Member(key: "timeouts.write", label: ("kind", "write"), value: \.writeTimeouts),
            Member(key: "timeouts.frame", label: ("kind", "frame"), value: \.frameTimeouts),
            Member(key: "timeouts.proxy", label: ("kind", "proxy"), value: \.proxyTimeouts),
            Member(key: "timeouts.dead_peer", label: ("kind", "dead_peer"), value: \.deadPeers),
            Member(key: "timeouts.reply", label: ("kind", "reply"), value: \.replyTimeouts),
        ]),
        StatsFamily("echo_shutdown_forced_total",
                    help: "Connections still open at the shutdown deadline (or an immediate stop), closed.",
                    [Member(key: "shutdown.forced", label: nil, value: \.shutdownForced)]),
        StatsFamily("echo_connection_errors_total", help: "Connections ended by a peer's reset or another socket error.", [
            Member(key: "errors.resets", label: ("kind", "reset"), value: \.resets),
            Member(key: "errors.other", label: ("kind", "other"), value: \.errors),
        ]),
        StatsFamily("echo_proxy_headers_invalid_total",
                    help: "Connections closed because their PROXY header was missing or malformed.",
                    [Member(key: "proxy.invalid", label: nil, value: \.proxyInvalid)]),
        StatsFamily("echo_messages_total", help: "Messages answered or declined.",
                    [Member(key: "messages", label: nil, value: \.messages)]),
        StatsFamily("echo_messages_too_large_total", help: "Connections closed for a message over --max-message.",
                    [Member(key: "messages.too_large", label: nil, value: \.messagesTooLarge)]),
        StatsFamily("echo_replies_too_large_total", help: "Connections closed for a reply over --max-reply.",
                    [Member(key: "replies.too_large", label: nil, value: \.repliesTooLarge)]),
        StatsFamily("echo_replies_late_total", help: "Deferred replies dropped because their connection had closed.",
                    [Member(key: "replies.late", label: nil, value: \.lateReplies)]),
        StatsFamily("echo_hook_errors_total", help: "Connections closed because their hook threw.",
                    [Member(key: "hooks.errors", label: nil, value: \.hookErrors)]),
        StatsFamily("echo_hook_slow_calls_total", help: "Hook calls slower than --slow-hook.",
                    [Member(key: "hooks.slow", label: nil, value: \.slowHooks)]),
        StatsFamily("echo_udp_received_datagrams_total", help: "UDP datagrams received.",
                    [Member(key: "udp.in", label: nil, value: \.udpIn)]),
        StatsFamily("echo_udp_sent_datagrams_total", help: "UDP replies sent.",
                    [Member(key: "udp.out", label: nil, value: \.udpOut)]),
        StatsFamily("echo_udp_dropped_total", help: "UDP datagrams or replies dropped by the protections, by reason.", [
            Member(key: "udp.dropped.not_allowed", label: ("reason", "not_allowed"), value: \.udpNotAllowed),
            Member(key: "udp.dropped.port", label: ("reason", "port"), value: \.udpBadPort),
            Member(key: "udp.dropped.rate", label: ("reason", "rate"), value: \.udpRateLimited),
            Member(key: "udp.dropped.too_large", label: ("reason", "too_large"), value: \.udpTooLarge),
            Member(key: "udp.dropped.send", label: ("reason", "send"), value: \.udpSendDropped),
            Member(key: "udp.dropped.deferred", label: ("reason", "deferred"), value: \.udpDeferredRefused),
        ]),
    ]

    /// The hook-duration histogram, per loop: cumulative buckets as Prometheus wants them.
    static func writeHookDurations(_ perLoop: [ServerStats], to text: inout PrometheusText) {
        let name = "echo_hook_duration_seconds"
        text.family(name, .histogram, help: "How long each call of a Swift hook took, by loop (the C echo makes none).")
        for (index, stats) in perLoop.enumerated() {
            let loop = ("loop", "\(index)")
            var cumulative: UInt64 = 0
            for (bound, count) in zip(ServerStats.hookBucketBounds, stats.hookBuckets) {
                cumulative += count
                text.sample(name + "_bucket", labels: [loop, ("le", PrometheusText.format(bound))], cumulative)
            }
            text.sample(name + "_sum", labels: [loop], Double(stats.hookNanoseconds) / 1e9)
            text.sample(name + "_count", labels: [loop], stats.hookCalls)
        }
    }

    /// The families counted by the server as a whole rather than by its loops.
    static let serverWide: [StatsFamily] = [
        StatsFamily("echo_reloads_total", help: "Configurations applied while running (SIGHUP), and those refused.", [
            Member(key: "reloads", label: ("result", "applied"), value: \.reloads),
            Member(key: "reloads.failed", label: ("result", "failed"), value: \.failedReloads),
        ]),
    ]

    /// Writes the server-wide families, one series per member.
    static func writeServerWide(_ stats: ServerStats, to text: inout PrometheusText) {
        for family in serverWide {
            text.family(family.name, family.type, help: family.help)
            for member in family.members {
                text.sample(family.name, labels: member.label.map { [$0] } ?? [], stats[keyPath: member.value])
            }
        }
    }

    /// Writes every family, one series per member and loop (`loop="0"`, …).
    static func write(_ perLoop: [ServerStats], to text: inout PrometheusText) {
        for family in all {
            text.family(family.name, family.type, help: family.help)
            for member in family.members {
                for (index, stats) in perLoop.enumerated() {
                    let labels = [("loop", "\(index)")] + (member.label.map { [$0] } ?? [])
                    text.sample(family.name, labels: labels, stats[keyPath: member.value])
                }
            }
        }
    }
}

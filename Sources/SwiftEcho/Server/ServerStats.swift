import cecho

/// A snapshot of a server's counters since it started.
public struct ServerStats: Sendable, Equatable {
    /// Connections taken into service.
    public var accepted: UInt64 = 0
    /// Connections open now.
    public var active: UInt64 = 0
    /// Served connections closed, for any reason.
    public var closed: UInt64 = 0
    /// Connections closed at accept because `--max-connections` were open.
    public var refusedMaxConnections: UInt64 = 0
    /// Connections closed at accept because the select backend cannot watch their descriptor.
    public var refusedFDSetSize: UInt64 = 0
    /// Connections closed at accept because the process ran out of descriptors.
    public var refusedNoDescriptors: UInt64 = 0
    public var bytesIn: UInt64 = 0
    public var bytesOut: UInt64 = 0
    /// Sends the kernel took only in part (its buffer was full); the rest was queued, in order.
    public var partialWrites: UInt64 = 0
    /// Times a connection's reading paused because its pending output passed the limit.
    public var backpressurePauses: UInt64 = 0
    public var idleTimeouts: UInt64 = 0
    public var writeTimeouts: UInt64 = 0
    /// Connections closed because the kernel found the peer gone (keepalive, user timeout).
    public var deadPeers: UInt64 = 0
    /// Connections still open at the shutdown deadline (or at an immediate stop), closed.
    public var shutdownForced: UInt64 = 0
    /// Connections ended by the peer's reset.
    public var resets: UInt64 = 0
    /// Other socket and accept errors.
    public var errors: UInt64 = 0
    /// Messages answered (or declined): framed messages, or reads in raw framing with a hook.
    public var messages: UInt64 = 0
    /// Connections closed for a message over `--max-message`.
    public var messagesTooLarge: UInt64 = 0
    /// Connections closed holding an incomplete message for `--frame-timeout`.
    public var frameTimeouts: UInt64 = 0
    /// Connections closed because a deferred or async reply passed `--reply-timeout`.
    public var replyTimeouts: UInt64 = 0
    /// Connections closed for a reply over `--max-reply`.
    public var repliesTooLarge: UInt64 = 0
    /// Connections closed because their hook threw.
    public var hookErrors: UInt64 = 0
    /// Hook calls slower than `--slow-hook`.
    public var slowHooks: UInt64 = 0
    /// Deferred replies dropped because their connection had closed.
    public var lateReplies: UInt64 = 0
    /// Connections closed at accept because their address is outside `--allow`.
    public var refusedNotAllowed: UInt64 = 0
    /// Connections closed at accept because their address held `--max-connections-per-ip`.
    public var refusedPerIP: UInt64 = 0
    /// UDP datagrams received.
    public var udpIn: UInt64 = 0
    /// UDP replies sent.
    public var udpOut: UInt64 = 0
    /// Datagrams dropped because their source is outside `--allow`.
    public var udpNotAllowed: UInt64 = 0
    /// Datagrams dropped because their source port was 0, 7, 13, 17 or 19 (a reflector).
    public var udpBadPort: UInt64 = 0
    /// Datagrams dropped because their source had used up `--udp-rate`.
    public var udpRateLimited: UInt64 = 0
    /// UDP replies dropped because they were larger than their datagram (amplification).
    public var udpTooLarge: UInt64 = 0
    /// UDP replies dropped because the socket would not take them now (no backpressure on UDP).
    public var udpSendDropped: UInt64 = 0
    /// Deferred UDP replies refused because too many datagrams were awaiting one.
    public var udpDeferredRefused: UInt64 = 0
    /// Connections closed at accept because `--proxy-protocol` expects a header from them and
    /// their address is outside `--proxy-from` (a header from them would be a forged address).
    public var refusedProxyUntrusted: UInt64 = 0
    /// Connections closed because their PROXY header was missing or malformed.
    public var proxyInvalid: UInt64 = 0
    /// Connections closed because their PROXY header was not whole within `--proxy-timeout`.
    public var proxyTimeouts: UInt64 = 0
    /// With `--metrics`: hook calls timed, their time in all (nanoseconds), and how many took
    /// at most each of ``hookBucketBounds`` (not cumulative: each call counts in one bucket).
    public var hookCalls: UInt64 = 0
    public var hookNanoseconds: UInt64 = 0
    public var hookBuckets: [UInt64] = Array(repeating: 0, count: Int(CE_HOOK_BUCKETS))
    /// The upper bound of each of ``hookBuckets``, in seconds; the last is infinity.
    public static let hookBucketBounds: [Double] = (0..<Int(CE_HOOK_BUCKETS)).map { index in
        let micros = ce_hook_bucket_bound_us(index)
        return micros == UInt64.max ? .infinity : Double(micros) / 1e6
    }
    /// Configurations applied while running (``EchoServer/reload(_:)``, the daemon's SIGHUP).
    public var reloads: UInt64 = 0
    /// Reloads refused because the configuration did not parse or validate.
    public var failedReloads: UInt64 = 0

    public init() {}

    init(_ s: ce_stats) {
        accepted = s.accepted
        active = s.active
        closed = s.closed
        refusedMaxConnections = s.refused_max_connections
        refusedFDSetSize = s.refused_fd_setsize
        refusedNoDescriptors = s.refused_no_descriptors
        bytesIn = s.bytes_in
        bytesOut = s.bytes_out
        partialWrites = s.partial_writes
        backpressurePauses = s.backpressure_pauses
        idleTimeouts = s.idle_timeouts
        writeTimeouts = s.write_timeouts
        deadPeers = s.dead_peers
        shutdownForced = s.shutdown_forced
        resets = s.resets
        errors = s.errors
        messages = s.messages
        messagesTooLarge = s.messages_too_large
        frameTimeouts = s.frame_timeouts
        replyTimeouts = s.reply_timeouts
        repliesTooLarge = s.replies_too_large
        hookErrors = s.hook_errors
        slowHooks = s.slow_hooks
        lateReplies = s.late_replies
        refusedNotAllowed = s.refused_not_allowed
        refusedPerIP = s.refused_per_ip
        udpIn = s.udp_in
        udpOut = s.udp_out
        udpNotAllowed = s.udp_not_allowed
        udpBadPort = s.udp_bad_port
        udpRateLimited = s.udp_rate_limited
        udpTooLarge = s.udp_too_large
        udpSendDropped = s.udp_send_dropped
        udpDeferredRefused = s.udp_deferred_refused
        refusedProxyUntrusted = s.refused_proxy_untrusted
        proxyInvalid = s.proxy_invalid
        proxyTimeouts = s.proxy_timeouts
        hookCalls = s.hook_calls
        hookNanoseconds = s.hook_ns
        hookBuckets = withUnsafeBytes(of: s.hook_buckets) { Array($0.bindMemory(to: UInt64.self)) }
    }

    /// All connections refused at accept, whatever the reason.
    public var refused: UInt64 {
        refusedMaxConnections + refusedFDSetSize + refusedNoDescriptors + refusedNotAllowed + refusedPerIP
            + refusedProxyUntrusted
    }

    /// All datagrams dropped unanswered by the protections, whatever the reason.
    public var udpDropped: UInt64 {
        udpNotAllowed + udpBadPort + udpRateLimited + udpTooLarge + udpSendDropped + udpDeferredRefused
    }

    /// The counters as log metadata, one `key=value` each; the names are stable.
    public var metadata: Logger.Metadata {
        [
            "accepted": "\(accepted)",
            "active": "\(active)",
            "closed": "\(closed)",
            "refused.max_connections": "\(refusedMaxConnections)",
            "refused.fd_setsize": "\(refusedFDSetSize)",
            "refused.no_descriptors": "\(refusedNoDescriptors)",
            "bytes.in": "\(bytesIn)",
            "bytes.out": "\(bytesOut)",
            "writes.partial": "\(partialWrites)",
            "backpressure.pauses": "\(backpressurePauses)",
            "timeouts.idle": "\(idleTimeouts)",
            "timeouts.write": "\(writeTimeouts)",
            "timeouts.dead_peer": "\(deadPeers)",
            "shutdown.forced": "\(shutdownForced)",
            "errors.resets": "\(resets)",
            "errors.other": "\(errors)",
            "messages": "\(messages)",
            "messages.too_large": "\(messagesTooLarge)",
            "timeouts.frame": "\(frameTimeouts)",
            "timeouts.reply": "\(replyTimeouts)",
            "replies.too_large": "\(repliesTooLarge)",
            "hooks.errors": "\(hookErrors)",
            "hooks.slow": "\(slowHooks)",
            "replies.late": "\(lateReplies)",
            "refused.not_allowed": "\(refusedNotAllowed)",
            "refused.per_ip": "\(refusedPerIP)",
            "udp.in": "\(udpIn)",
            "udp.out": "\(udpOut)",
            "udp.dropped.not_allowed": "\(udpNotAllowed)",
            "udp.dropped.port": "\(udpBadPort)",
            "udp.dropped.rate": "\(udpRateLimited)",
            "udp.dropped.too_large": "\(udpTooLarge)",
            "udp.dropped.send": "\(udpSendDropped)",
            "udp.dropped.deferred": "\(udpDeferredRefused)",
            "refused.proxy_untrusted": "\(refusedProxyUntrusted)",
            "proxy.invalid": "\(proxyInvalid)",
            "timeouts.proxy": "\(proxyTimeouts)",
            "reloads": "\(reloads)",
            "reloads.failed": "\(failedReloads)",
        ]
    }
}

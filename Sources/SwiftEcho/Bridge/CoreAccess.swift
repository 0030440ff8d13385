import cecho

/// The one owner of a C `ce_access`: the process-wide access policy (allow list, connections
/// per address, UDP reply rate, trusted PROXY senders) that every loop of a server borrows.
/// Each `CoreLoop` keeps a reference, so the policy outlives every loop that uses it.
final class CoreAccess: @unchecked Sendable {
    let raw: OpaquePointer

    /// The policy `configuration` asks for; made even when it asks for none yet, since a
    /// reload may (an empty allow list and no per-address limit cost a lock at accept).
    /// `maxConnections` is the connections of all loops together (it sizes the per-address
    /// table). `servesUDP`: UDP sockets will be served (`--udp`, or passed by a service
    /// manager), so replies need their rate table. With `proxyProtocol`, it says who may send
    /// a PROXY header.
    init(configuration: Configuration, maxConnections: Int, servesUDP: Bool) throws(CoreError) {
        var made: OpaquePointer?
        let message = try Self.withCoreConfig(configuration, maxConnections: maxConnections,
                                              udpRate: servesUDP ? configuration.udpRate : 0) { config in
            CoreError.capture { err, len in
                made = ce_access_create(&config, err, len)
                return made == nil ? -1 : 0
            }
        }
        guard let made else { throw CoreError(message: message ?? "ce_access_create failed") }
        raw = made
    }

    /// Takes the allow list, per-address limit and UDP rate of `configuration` (a reload);
    /// connections already counted stay counted, and the trusted PROXY senders stay.
    func update(_ configuration: Configuration, maxConnections: Int) throws(CoreError) {
        let message = try Self.withCoreConfig(configuration, maxConnections: maxConnections,
                                              udpRate: configuration.udpRate) { config in
            CoreError.capture { err, len in ce_access_update(raw, &config, err, len) }
        }
        if let message { throw CoreError(message: message) }
    }

    /// Runs `body` with the core's form of the policy `configuration` asks for.
    private static func withCoreConfig(
        _ configuration: Configuration, maxConnections: Int, udpRate: Int,
        _ body: (inout ce_access_config) -> String?
    ) throws(CoreError) -> String? {
        let ranges = configuration.allow.compactMap(AddressRange.parse)
        let proxyFrom = configuration.proxyProtocol ? configuration.proxyFrom.compactMap(AddressRange.parse) : []
        guard ranges.count == configuration.allow.count,
              proxyFrom.count == (configuration.proxyProtocol ? configuration.proxyFrom.count : 0) else {
            throw CoreError(message: "invalid --allow or --proxy-from range")  // validated before: cannot happen
        }
        var config = ce_access_config()
        config.nallow = ranges.count
        config.max_per_ip = UInt32(clamping: configuration.maxConnectionsPerIP)
        config.max_connections = UInt32(clamping: maxConnections)
        config.udp_rate = UInt32(clamping: udpRate)
        config.nproxy_from = proxyFrom.count
        return ranges.withUnsafeBufferPointer { allow in
            proxyFrom.withUnsafeBufferPointer { trusted in
                config.allow = allow.baseAddress
                config.proxy_from = trusted.baseAddress
                return body(&config)
            }
        }
    }

    deinit {
        ce_access_destroy(raw)
    }
}

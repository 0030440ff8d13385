import cecho

/// The one owner of a C `ce_access`: the process-wide access policy (allow list, connections
/// per address, UDP reply rate) that every loop of a server borrows. Each `CoreLoop` keeps a
/// reference, so the policy outlives every loop that uses it.
final class CoreAccess: @unchecked Sendable {
    let raw: OpaquePointer

    /// The policy `configuration` asks for, or nil when it asks for none. `maxConnections` is
    /// the connections of all loops together (it sizes the per-address table). `servesUDP`:
    /// UDP sockets will be served (`--udp`, or passed by a service manager), so replies need
    /// their rate table. With `proxyProtocol`, it says who may send a PROXY header.
    init?(configuration: Configuration, maxConnections: Int, servesUDP: Bool) throws(CoreError) {
        let ranges = configuration.allow.compactMap(AddressRange.parse)
        let proxyFrom = configuration.proxyProtocol ? configuration.proxyFrom.compactMap(AddressRange.parse) : []
        guard ranges.count == configuration.allow.count,
              proxyFrom.count == (configuration.proxyProtocol ? configuration.proxyFrom.count : 0) else {
            throw CoreError(message: "invalid --allow or --proxy-from range")  // validated before: cannot happen
        }
        guard !ranges.isEmpty || configuration.maxConnectionsPerIP > 0 || servesUDP || configuration.proxyProtocol
        else { return nil }
        var config = ce_access_config()
        config.nallow = ranges.count
        config.max_per_ip = UInt32(clamping: configuration.maxConnectionsPerIP)
        config.max_connections = UInt32(clamping: maxConnections)
        config.udp_rate = servesUDP ? UInt32(clamping: configuration.udpRate) : 0
        var made: OpaquePointer?
        config.nproxy_from = proxyFrom.count
        let message = ranges.withUnsafeBufferPointer { allow in
            proxyFrom.withUnsafeBufferPointer { trusted in
                CoreError.capture { err, len in
                    config.allow = allow.baseAddress
                    config.proxy_from = trusted.baseAddress
                    made = ce_access_create(&config, err, len)
                    return made == nil ? -1 : 0
                }
            }
        }
        guard let made else { throw CoreError(message: message ?? "ce_access_create failed") }
        raw = made
    }

    deinit {
        ce_access_destroy(raw)
    }
}

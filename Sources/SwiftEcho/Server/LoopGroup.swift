import Dispatch
import cecho

/// The event loops of one server (`--threads`), each run on its own thread with its own
/// connections (they share the connection budget, which each keeps alive). What the server
/// asks of all of them (stop, stats) goes through here.
final class LoopGroup: Sendable {
    let loops: [CoreLoop]

    init(loops: [CoreLoop]) {
        precondition(!loops.isEmpty, "a server runs at least one loop")
        self.loops = loops
    }

    /// The backend every loop uses (they are made alike).
    var backendName: String { loops[0].backendName }

    func requestStop(graceful: Bool) {
        loops.forEach { $0.requestStop(graceful: graceful) }
    }

    /// The counters of every loop added up.
    var stats: ServerStats {
        var total = ce_stats()
        for loop in loops {
            var counters = loop.coreStats
            ce_stats_add(&total, &counters)
        }
        return ServerStats(total)
    }

    /// Each loop's own counters, in loop order: how connections spread over the loops.
    var statsPerLoop: [ServerStats] {
        loops.map { ServerStats($0.coreStats) }
    }
}

extension LoopGroup {
    /// Hands the reloadable settings of `configuration`, and `logger`, to what the loops share
    /// (the connection cap, fitted to the descriptors as at start; the access policy), then
    /// to every loop, each switching between two of its turns. Throws, having changed
    /// nothing, when the policy's tables cannot be allocated; throws naming the loops that
    /// could not be handed the settings (out of memory), which keep their old ones.
    func apply(_ configuration: Configuration, logger: Logger) throws(CoreError) {
        let maxConnections = ConnectionLimit.fit(configuration.maxConnections, backend: backendName,
                                                 loops: loops.count, logger: logger)
        try loops[0].access?.update(configuration, maxConnections: maxConnections)
        loops[0].budget.setMax(maxConnections)
        let refused = loops.indices.filter { !loops[$0].apply(configuration, logger: logger) }
        // Once this returns, a new connection gets the new settings, whichever loop takes it.
        // Bounded, for all loops together: a loop held up by a slow hook takes them at its
        // next turn all the same.
        let deadline = DispatchTime.now() + 2
        loops.forEach { $0.waitUntilServed(until: deadline) }
        if !refused.isEmpty {
            throw CoreError(message: "out of memory handing the settings to loop(s) \(refused.map(String.init).joined(separator: ", "))")
        }
    }
}

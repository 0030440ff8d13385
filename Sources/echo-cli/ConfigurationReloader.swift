import SwiftEcho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGHUP: the configuration is read again as at start (the file, then the environment and
/// the flags the daemon was started with, on top) and handed to the server, which applies
/// what it can while running. Each outcome is one log line or a few: the settings applied
/// (`notice`), each one that needs a restart (`warning`), or why nothing was (`error`). The
/// service manager hears `RELOADING=1` first and `READY=1` when it is over, as systemd's
/// `Type=notify-reload` expects.
struct ConfigurationReloader: Sendable {
    let arguments: [String]
    let environment: [String: String]
    let server: EchoServer
    let notifier: ServiceNotifier?

    func reload() {
        notifier?.tell(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())"], logger: server.logger)
        let status: String
        do throws(ConfigurationError) {
            let outcome = try server.reload(try readConfiguration())
            let logger = server.logger  // with the level and format just applied
            for restart in outcome.pendingRestart { logger.warning("reload: \(restart)") }
            logger.notice(outcome.summary)
            status = "listening on " + server.localAddresses.map(\.description).joined(separator: ", ")
        } catch {
            server.logger.error("reload failed, the running configuration stays: \(error.message)")
            status = "reload failed: \(error.message)"
        }
        notifier?.tell(["READY=1", "STATUS=\(status)"], logger: server.logger)
    }

    /// What the command line, the environment and the file say now.
    private func readConfiguration() throws(ConfigurationError) -> Configuration {
        guard case .serve(let configuration) = try CommandLineInterface.parse(arguments: arguments,
                                                                              environment: environment) else {
            // The arguments asked to serve at start, and asking is decided by them alone.
            return server.configuration
        }
        return configuration
    }

    /// CLOCK_MONOTONIC in microseconds, systemd's clock for `MONOTONIC_USEC`, by which it
    /// tells this reload's `READY=1` from an earlier one's.
    private static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}

import cecho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Tells the service manager how the process is doing, as systemd's `sd_notify` does but
/// without libsystemd: `KEY=VALUE` lines in one datagram to the Unix datagram socket that
/// `NOTIFY_SOCKET` names (a path, or `@` and an abstract name). With `Type=notify` systemd
/// waits for `READY=1` before it starts what depends on the service, shows `STATUS=` in
/// `systemctl status`, and takes `STOPPING=1` as the start of a stop.
///
/// ```swift
/// let notifier = ServiceNotifier.fromEnvironment()     // nil outside a notify service
/// try server.start()
/// try notifier?.send(["READY=1", "STATUS=serving"])
/// ```
public struct ServiceNotifier: Sendable, Equatable {
    /// The variable the service manager sets to its socket's address.
    public static let environmentVariable = "NOTIFY_SOCKET"

    /// Where the messages go: an absolute path, or `@name` for an abstract socket.
    public let socketAddress: String

    public init(socketAddress: String) {
        self.socketAddress = socketAddress
    }

    /// The notifier `NOTIFY_SOCKET` names, or nil when it is unset or empty.
    ///
    /// With `unsetting` (the default) the variable is removed from the environment, as
    /// `sd_notify` does when asked to, so that nothing this process starts later speaks to the
    /// manager in the service's name; the notifier keeps the address. The environment is not
    /// thread-safe: call this before starting other threads.
    public static func fromEnvironment(unsetting: Bool = true) -> ServiceNotifier? {
        guard let value = getenv(environmentVariable) else { return nil }
        let address = String(cString: value)
        if unsetting { unsetenv(environmentVariable) }
        return address.isEmpty ? nil : ServiceNotifier(socketAddress: address)
    }

    /// Sends `fields` (`"READY=1"`, `"STATUS=…"`) as one message. A newline inside a field
    /// would start a new one, so it becomes a space. Never blocks.
    /// - Throws: the system's reason, e.g. "sendto(/run/notify): No such file or directory".
    public func send(_ fields: [String]) throws(ServiceNotifierError) {
        let state = fields.map { $0.replacing("\n", with: " ") }.joined(separator: "\n")
        if let message = CoreError.capture({ err, len in ce_notify_send(socketAddress, state, err, len) }) {
            throw ServiceNotifierError(message: message)
        }
    }
}

/// A notification the service manager's socket did not take.
public struct ServiceNotifierError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

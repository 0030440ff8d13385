import cecho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sockets a service manager opened and passed to this process: systemd's socket activation
/// (`LISTEN_PID`, `LISTEN_FDS`, descriptors from 3), read without libsystemd. The manager
/// binds the addresses of a `.socket` unit itself, so the service may start on the first
/// connection, restart without refusing any, and need no privileges for port 7.
///
/// ```swift
/// if let sockets = try SocketActivation.takeFromEnvironment() {
///     let server = EchoServer(configuration: configuration, inheritedSockets: sockets)
///     try server.start()                       // serves the passed sockets, binds nothing
/// }
/// ```
public enum SocketActivation {
    /// The first passed descriptor (`SD_LISTEN_FDS_START`); the others follow it.
    public static let firstDescriptor: Int32 = 3
    /// The variables of the protocol, all three unset by ``takeFromEnvironment()``.
    public static let environmentVariables = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]

    /// One passed socket, checked and made non-blocking and close-on-exec.
    public struct Socket: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            /// A listening IPv4 or IPv6 stream socket (`ListenStream=7`).
            case tcp
            /// A listening Unix stream socket (`ListenStream=/run/echo.sock`).
            case unix
            /// An IPv4 or IPv6 datagram socket (`ListenDatagram=7`).
            case udp
        }

        public let fd: Int32
        public let kind: Kind
    }

    /// The sockets passed to this process, or nil when none were: the variables are unset or
    /// name another process (`LISTEN_PID`), as `sd_listen_fds` decides.
    ///
    /// The variables are then unset, whoever they named, as `sd_listen_fds(1)` does, so that
    /// nothing this process starts takes the descriptors for its own. The environment is not
    /// thread-safe: call this before starting other threads.
    /// - Throws: when the variables are malformed, or a passed descriptor is not a listening
    ///   TCP or Unix stream socket or a UDP socket (a connection from `Accept=yes`, a file).
    public static func takeFromEnvironment() throws(SocketActivationError) -> [Socket]? {
        var environment: [String: String] = [:]
        for name in environmentVariables {
            if let value = getenv(name) { environment[name] = String(cString: value) }
            unsetenv(name)
        }
        guard let descriptors = try passedDescriptors(environment: environment, processID: getpid()) else {
            return nil
        }
        var sockets: [Socket] = []
        for fd in descriptors {
            sockets.append(try adopt(fd))
        }
        return sockets
    }

    /// The descriptors `environment` passes to process `processID`, or nil when it passes none
    /// to it. Looks at nothing but the two variables.
    public static func passedDescriptors(
        environment: [String: String], processID: Int32
    ) throws(SocketActivationError) -> Range<Int32>? {
        guard let pidText = environment["LISTEN_PID"], !pidText.isEmpty else { return nil }
        guard let pid = Int32(pidText), pid > 0 else {
            throw SocketActivationError(message: "LISTEN_PID='\(pidText)' is not a process ID")
        }
        guard pid == processID else { return nil }  // meant for another process
        guard let countText = environment["LISTEN_FDS"], !countText.isEmpty else { return nil }
        let limit = Int32.max - firstDescriptor
        guard let count = Int32(countText), count >= 1, count <= limit else {
            throw SocketActivationError(
                message: "LISTEN_FDS='\(countText)' is not a count of descriptors from 1 to \(limit)")
        }
        return firstDescriptor..<(firstDescriptor + count)
    }

    /// Checks passed descriptor `fd` and makes it non-blocking and close-on-exec.
    static func adopt(_ fd: Int32) throws(SocketActivationError) -> Socket {
        var kind = ce_socket_kind(rawValue: 0)
        if let message = CoreError.capture({ err, len in ce_net_adopt_socket(fd, &kind, err, len) }) {
            throw SocketActivationError(message: "socket activation: \(message)")
        }
        switch kind {
        case CE_SOCKET_TCP_LISTENER: return Socket(fd: fd, kind: .tcp)
        case CE_SOCKET_UNIX_LISTENER: return Socket(fd: fd, kind: .unix)
        default: return Socket(fd: fd, kind: .udp)
        }
    }
}

/// Socket activation variables that make no sense, or a passed descriptor the server cannot
/// serve.
public struct SocketActivationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

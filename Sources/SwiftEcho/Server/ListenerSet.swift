import cecho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A listening socket, bound before any loop runs.
struct BoundListener: Sendable {
    enum Kind: Sendable {
        case tcp
        case unix
        /// A UDP socket beside a TCP listener, on its address and port (`--udp`).
        case udp
    }

    let fd: Int32
    let kind: Kind
    /// Where it listens, as logged in its `listening on` line.
    let address: ListeningAddress
    /// The socket file to remove when the server ends; nil for TCP (and for sockets the server
    /// did not create itself).
    let socketFile: UnixSocketFile?
}

/// Every listener of a server, bound in one place from the configuration: `--listen` addresses
/// in order, or else every address `--host` names on `--port`. The one place that creates
/// listeners, so that the Unix socket files created are known, and removed on every exit.
struct ListenerSet: Sendable {
    private(set) var listeners: [BoundListener] = []

    /// Binds everything the configuration asks for. On failure, what was already bound is
    /// closed and its socket files removed.
    /// With `sharedPort`, TCP listeners let ``bindSharedCopies(backlog:)`` bind more on their
    /// port.
    static func bind(_ configuration: Configuration, sharedPort: Bool = false) throws(EchoServerError) -> ListenerSet {
        let requested = configuration.listen.isEmpty
            ? [ListenAddress.tcp(host: configuration.host, port: configuration.port)]
            : configuration.listen
        var set = ListenerSet()
        for address in requested {
            do {
                try set.bind(address, configuration: configuration, sharedPort: sharedPort)
            } catch {
                set.closeAll()
                throw .cannotListen(address: address.description, reason: error.message)
            }
        }
        return set
    }

    private mutating func bind(_ address: ListenAddress, configuration: Configuration,
                               sharedPort: Bool) throws(CoreError) {
        switch address {
        case .tcp(let host, let port):
            let (fds, udp) = try bindTCPAndUDP(host: host, port: port, configuration: configuration,
                                               sharedPort: sharedPort)
            for (fd, kind) in fds.map({ ($0, BoundListener.Kind.tcp) }) + udp.map({ ($0, .udp) }) {
                let bound = Listeners.address(of: fd) ?? address
                listeners.append(BoundListener(fd: fd, kind: kind, address: bound, socketFile: nil))
            }
        case .unix(let path):
            let (fd, file) = try Listeners.bindUnix(path: path, mode: configuration.unixMode,
                                                    backlog: configuration.backlog)
            listeners.append(BoundListener(fd: fd, kind: .unix, address: address, socketFile: file))
        }
    }

    /// The TCP listeners on every address `host` names and, with `--udp`, a UDP socket on each
    /// one's address and port. With port 0 the UDP port is the one TCP got, which another
    /// program may hold for UDP: then both are bound again on a new port, a few times, as "any
    /// free port" promises. With a port given, a UDP port in use fails like a TCP one.
    private func bindTCPAndUDP(host: String, port: Int, configuration: Configuration, sharedPort: Bool)
        throws(CoreError) -> (tcp: [Int32], udp: [Int32])
    {
        var attemptsLeft = configuration.udp && port == 0 ? 8 : 1
        while true {
            attemptsLeft -= 1
            let tcp = try Listeners.bindTCP(host: host, port: port, backlog: configuration.backlog,
                                            sharedPort: sharedPort)
            guard configuration.udp else { return (tcp, []) }
            var udp: [Int32] = []
            do throws(Listeners.UDPBindError) {
                for fd in tcp { udp.append(try Listeners.bindUDP(like: fd)) }
                return (tcp, udp)
            } catch {
                (tcp + udp).forEach { _ = close($0) }
                if error.inUse && attemptsLeft > 0 { continue }
                throw CoreError(message: error.message)
            }
        }
    }

    /// For one more loop: a listener beside each TCP one of this set (bound with a shared
    /// port), on the very address and port it has, so no name is looked up again. On failure
    /// nothing stays open.
    func bindSharedCopies(backlog: Int) throws(EchoServerError) -> [BoundListener] {
        var copies: [BoundListener] = []
        for listener in listeners where listener.kind == .tcp {
            do {
                let fd = try Listeners.bindTCP(like: listener.fd, backlog: backlog)
                copies.append(BoundListener(fd: fd, kind: .tcp, address: listener.address, socketFile: nil))
            } catch {
                copies.forEach { _ = close($0.fd) }
                throw .cannotListen(address: listener.address.description, reason: error.message)
            }
        }
        return copies
    }

    /// Takes sockets a service manager bound (``SocketActivation``), as they are: their
    /// addresses are read back for the `listening on` lines; their socket files are not ours.
    static func adopt(_ sockets: [SocketActivation.Socket]) throws(EchoServerError) -> ListenerSet {
        var set = ListenerSet()
        for socket in sockets {
            let kind: BoundListener.Kind
            switch socket.kind {
            case .tcp: kind = .tcp
            case .unix: kind = .unix
            case .udp: kind = .udp  // answered with the same protections as --udp
            }
            // An abstract or unnamed Unix socket has no path to show: name the descriptor.
            let address = Listeners.address(of: socket.fd) ?? .unix(path: "(fd \(socket.fd))")
            set.listeners.append(BoundListener(fd: socket.fd, kind: kind, address: address, socketFile: nil))
        }
        return set
    }

    /// The Unix socket files these listeners created.
    var socketFiles: [UnixSocketFile] {
        listeners.compactMap(\.socketFile)
    }

    /// Closes every descriptor and removes the socket files: for a start that failed before
    /// the loop took the descriptors.
    func closeAll() {
        for listener in listeners { _ = close(listener.fd) }
        removeSocketFiles()
    }

    /// Removes the socket files that are still ours. The descriptors are the loop's by then.
    func removeSocketFiles() {
        for file in socketFiles { file.remove() }
    }
}

// echo-cli: the SwiftEcho daemon. A thin shell over the library: flags, environment and
// config file in, a Configuration out; signals; exit statuses from sysexits.h.
import SwiftEcho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
let environment = ProcessEnvironment.current  // as at start for every reload, too
let invocation: Invocation
do {
    invocation = try CommandLineInterface.parse(arguments: arguments, environment: environment)
    if case .serve(let configuration) = invocation {
        try configuration.validate(availableBackends: Backend.available)
    }
} catch {
    StandardStreams.err(error.formattedForStderr)
    exit(error.exitCode)
}

switch invocation {
case .help(let text):
    StandardStreams.out(text)
    exit(ExitCode.success)
case .version(let text):
    StandardStreams.out(text)
    exit(ExitCode.success)
case .serve(let configuration):
    // A peer that resets mid-write must cost one connection, never the process. The core
    // sends with MSG_NOSIGNAL already; this also covers anything else that writes.
    signal(SIGPIPE, SIG_IGN)
    let logger = Logger(label: CommandLineInterface.commandName, configuration: configuration)
    logger.debug("configuration", metadata: configuration.loggingMetadata)
    // Read (and unset) the service manager's variables while this is the only thread.
    let notifier = ServiceNotifier.fromEnvironment()
    let inheritedSockets: [SocketActivation.Socket]
    do throws(SocketActivationError) {
        inheritedSockets = try SocketActivation.takeFromEnvironment() ?? []
    } catch {
        StandardStreams.err("Error: \(error)")
        exit(ExitCode.unavailable)
    }
    if !inheritedSockets.isEmpty, configuration.setsAnAddress {
        logger.notice("socket activation: serving the \(inheritedSockets.count) socket(s) passed in;"
                      + " --host, --port and --listen are ignored")
    }
    let server = EchoServer(configuration: configuration, logger: logger, inheritedSockets: inheritedSockets)
    let reloader = ConfigurationReloader(arguments: arguments, environment: environment, server: server,
                                         notifier: notifier)
    let signals = SignalHandling(server: server, onHangup: reloader.reload, onGracefulStop: { _ in
        notifier?.tell(["STOPPING=1", "STATUS=stopping"], logger: server.logger)
    })
    do throws(SignalError) {
        try signals.install()  // before the server starts any thread: they inherit the signal mask
    } catch {
        StandardStreams.err("Error: cannot handle signals: \(error)")
        exit(ExitCode.osError)
    }
    // After install: a stop signal from now on ends in the removal of what the claim creates.
    let pidFile = configuration.pidFile.map(PidFile.init(path:))
    do throws(PidFile.Failure) {
        try pidFile?.claim(logger: logger)  // before binding: a live instance means no start
    } catch {
        pidFile?.remove()
        StandardStreams.err("Error: \(error)")
        exit(error.exitCode)
    }
    var pidFileFailure: PidFile.Failure?
    do throws(EchoServerError) {
        try server.run {
            do throws(PidFile.Failure) {
                try pidFile?.publish()
            } catch {
                pidFileFailure = error
                server.stop(graceful: false)
                return
            }
            let addresses = server.localAddresses.map(\.description).joined(separator: ", ")
            notifier?.tell(["READY=1", "MAINPID=\(getpid())", "STATUS=listening on \(addresses)"], logger: logger)
        }
    } catch {
        pidFile?.remove()
        StandardStreams.err("Error: \(error)")
        switch error {
        case .cannotListen: exit(ExitCode.unavailable)
        case .backendUnavailable, .invalidConfiguration: exit(ExitCode.usage)
        case .loopFailed, .alreadyStarted: exit(ExitCode.osError)
        }
    }
    pidFile?.remove()
    if let pidFileFailure {
        StandardStreams.err("Error: \(pidFileFailure)")
        exit(pidFileFailure.exitCode)
    }
    server.logger.notice("stats", metadata: server.stats.metadata)
    exit(signals.immediateStop?.exitStatus ?? ExitCode.success)
}

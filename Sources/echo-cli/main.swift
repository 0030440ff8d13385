// echo-cli: the SwiftEcho daemon. A thin shell over the library: flags, environment and
// config file in, a Configuration out; signals; exit statuses from sysexits.h.
import SwiftEcho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let invocation: Invocation
do {
    invocation = try CommandLineInterface.parse(arguments: Array(CommandLine.arguments.dropFirst()),
                                                environment: ProcessEnvironment.current)
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
    let server = EchoServer(configuration: configuration, logger: logger)
    let signals = SignalHandling(server: server, logger: logger)
    signals.install()  // before the server starts any thread: they inherit the signal mask
    do {
        try server.run()
    } catch {
        StandardStreams.err("Error: \(error)")
        switch error {
        case .cannotListen: exit(ExitCode.unavailable)
        case .backendUnavailable, .invalidConfiguration: exit(ExitCode.usage)
        case .loopFailed, .alreadyStarted: exit(ExitCode.osError)
        }
    }
    logger.notice("stats", metadata: server.stats.metadata)
    exit(signals.interruptedStatus ?? ExitCode.success)
}

// greeting-server: the Greeter in a process of its own, configured like echo-cli (the same
// flags, ECHO_* variables and JSON file), stopped by SIGTERM or SIGINT as echo-cli is.
import Foundation
import Greeter
import SwiftEcho

@main
struct GreetingServer {
    static func main() async {
        let invocation: Invocation
        do {
            invocation = try CommandLineInterface.parse(arguments: Array(CommandLine.arguments.dropFirst()),
                                                        environment: ProcessInfo.processInfo.environment)
        } catch {
            fail("\(error)", status: 64)
        }
        guard case .serve(let configuration) = invocation else {
            print("usage: greeting-server [echo-cli's options]")
            return
        }
        let server = Greeter.server(configuration: configuration,
                                    logger: Logger(label: "greeting-server", logLevel: configuration.logLevel))
        // First, before the server starts its threads: they inherit the blocked signals.
        let signals = SignalHandling(server: server)
        do {
            try signals.install()
        } catch {
            fail("cannot handle signals: \(error)", status: 71)
        }
        let announce = Task {
            let addresses = try await server.waitUntilListening()
            let line = "greeting on " + addresses.map(\.description).joined(separator: ", ") + "\n"
            FileHandle.standardOutput.write(Data(line.utf8))  // unbuffered: a pipe reader sees it now
        }
        do {
            try await server.run()  // until SIGTERM or SIGINT
        } catch {
            fail("\(error)", status: 69)
        }
        _ = await announce.result
        exit(signals.immediateStop?.exitStatus ?? 0)
    }

    static func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
        exit(status)
    }
}

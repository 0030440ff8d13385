import Glibc
import Testing
@testable import SwiftEcho

/// The library's signal API in this process. Only signals whose default is to be ignored
/// (SIGWINCH, SIGURG) are sent, so that one arriving after its handler is gone cannot end the
/// test run; each test has its own.
@Suite struct SignalHandlingTests {
    /// A stream gets each signal raised after it was made; dropping it puts the default back.
    @Test func aStreamDeliversSignalsUntilItEnds() async throws {
        let windowChanged = ProcessSignal(rawValue: SIGWINCH)
        #expect(disposition(of: SIGWINCH) == .default)
        var stream: AsyncStream<ProcessSignal>? = try ProcessSignal.stream(of: [windowChanged])
        #expect(disposition(of: SIGWINCH) == .caught)
        kill(getpid(), SIGWINCH)
        let received = try await withTimeout(5, "the signal") { [stream] in
            var iterator = stream!.makeAsyncIterator()
            return await iterator.next()
        }
        #expect(received == windowChanged)
        stream = nil
        #expect(waitUntil(timeout: 2) { disposition(of: SIGWINCH) == .default })
    }

    /// A stop signal stops the server gracefully, once, with `onGracefulStop` told which.
    @Test func aStopSignalStopsTheServerGracefully() throws {
        let urgent = ProcessSignal(rawValue: SIGURG)
        let server = try startServer(.echo, framing: .raw) { $0.shutdownTimeout = .seconds(10) }
        let client = try TestClient(port: server.port)
        #expect(try client.roundTrip(Array("held open".utf8)))
        let told = Locked<[ProcessSignal]>([])
        let signals = SignalHandling(server: server, stopOn: [urgent], statsOn: [],
                                     onGracefulStop: { signal in told.withLock { $0.append(signal) } })
        try signals.install()
        defer { signals.cancel() }
        #expect(disposition(of: SIGURG) == .caught)
        kill(getpid(), SIGURG)
        usleep(1_000)
        kill(getpid(), SIGURG)  // the same request
        #expect(waitUntil(timeout: 5) { told.withLock { !$0.isEmpty } })
        #expect((try? Background { server.wait() }.value(timeout: 0.3)) == nil, "draining: the client holds it")
        client.close()
        try Background { server.wait() }.value(timeout: 5)
        #expect(told.withLock { $0 } == [urgent])
        #expect(signals.immediateStop == nil)
        signals.cancel()
        #expect(disposition(of: SIGURG) == .default)
    }

    /// SIGKILL cannot be caught: refused with the reason, and nothing else is caught either.
    @Test func anUncatchableSignalIsRefused() throws {
        #expect(throws: SignalError.self) {
            _ = try ProcessSignal.stream(of: [ProcessSignal(rawValue: SIGKILL), ProcessSignal(rawValue: SIGCONT)])
        }
        #expect(disposition(of: SIGCONT) == .default)
    }

    private enum Disposition { case `default`, ignored, caught }

    private func disposition(of number: Int32) -> Disposition {
        var action = sigaction()
        sigaction(number, nil, &action)
        let handler = unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self)
        switch handler {
        case 0: return .default  // SIG_DFL
        case 1: return .ignored  // SIG_IGN
        default: return .caught
        }
    }
}

@testable import SwiftEcho

/// Runs `body`, failing with an error if it takes longer than `seconds`: an async test's
/// every wait is bounded, so a server that never answers fails the test instead of hanging CI.
/// When the time is up the body is cancelled and not waited for: a body that ignores
/// cancellation (awaiting another task's `value` does) cannot hold the test.
func withTimeout<Value: Sendable>(_ seconds: Double, _ what: String = "the work",
                                  _ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
    let race = FirstOutcome<Value>()
    let work = Task {
        do {
            race.settle(.success(try await body()))
        } catch {
            race.settle(.failure(error))
        }
    }
    let timer = Task {
        try? await Task.sleep(for: .seconds(seconds))
        race.settle(.failure(TestClientError("\(what) took longer than \(seconds) s")))
    }
    defer {
        work.cancel()
        timer.cancel()
    }
    return try await withTaskCancellationHandler { try await race.value } onCancel: { work.cancel() }
}

/// The first of several outcomes, for one waiter: the later ones are ignored.
private final class FirstOutcome<Value: Sendable>: Sendable {
    private struct State {
        var outcome: Result<Value, any Error>?
        var waiter: CheckedContinuation<Value, any Error>?
    }
    private let state = Locked(State())

    func settle(_ outcome: Result<Value, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: outcome)
    }

    var value: Value {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let outcome = state.withLock { state -> Result<Value, any Error>? in
                    if state.outcome == nil { state.waiter = continuation }
                    return state.outcome
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        }
    }
}

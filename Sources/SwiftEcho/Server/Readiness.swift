/// Whether a server listens yet, for tasks that await it: the outcome of the last start
/// (where it listens, or why it could not), and the tasks waiting for one.
final class Readiness: Sendable {
    private enum Outcome {
        case listening([ListeningAddress])
        case failed(EchoServerError)
    }

    private struct State {
        var outcome: Outcome?
        var waiters: [UInt64: CheckedContinuation<[ListeningAddress], any Error>] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Locked(State())

    /// A start begins: a failure from an earlier one is no longer the answer.
    func starting() {
        state.withLock { state in
            if case .failed = state.outcome { state.outcome = nil }
        }
    }

    func listening(_ addresses: [ListeningAddress]) {
        settle(.listening(addresses))
    }

    func failed(_ error: EchoServerError) {
        settle(.failed(error))
    }

    private func settle(_ outcome: Outcome) {
        let waiters = state.withLock { state in
            state.outcome = outcome
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { resume(waiter, with: outcome) }
    }

    /// The addresses once listening; throws the start's error, or `CancellationError` if the
    /// waiting task is cancelled first.
    func wait() async throws -> [ListeningAddress] {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // Under the lock, so that a cancellation either comes before (and is seen
                // here) or after (and finds the waiter to resume).
                let outcome = state.withLock { state -> Result<Outcome, CancellationError>? in
                    if let outcome = state.outcome { return .success(outcome) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                switch outcome {
                case .success(let outcome): resume(continuation, with: outcome)
                case .failure(let error): continuation.resume(throwing: error)
                case nil: break
                }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    private func resume(_ continuation: CheckedContinuation<[ListeningAddress], any Error>, with outcome: Outcome) {
        switch outcome {
        case .listening(let addresses): continuation.resume(returning: addresses)
        case .failed(let error): continuation.resume(throwing: error)
        }
    }
}

/// Runs `body`, failing with an error if it takes longer than `seconds`: an async test's
/// every wait is bounded, so a server that never answers fails the test instead of hanging CI.
/// The body is cancelled when the time is up (it must end on cancellation).
func withTimeout<Value: Sendable>(_ seconds: Double, _ what: String = "the work",
                                  _ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
    try await withThrowingTaskGroup(of: Value?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try? await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw TestClientError("\(what) took longer than \(seconds) s")
        }
        return value
    }
}

import Foundation
@testable import SwiftEcho

/// Work on a thread of its own (blocking socket calls must not sit on Swift's cooperative
/// pool), with a bounded wait for its result.
final class Background<Value: Sendable>: Sendable {
    private let result = Locked<Result<Value, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws -> Value) {
        Thread.detachNewThread { [self] in
            let outcome = Result { try body() }
            result.withLock { $0 = outcome }
            done.signal()
        }
    }

    /// The value, rethrowing what the body threw; throws if it takes longer than `timeout`.
    func value(timeout: Double) throws -> Value {
        guard done.wait(timeout: .now() + timeout) == .success else {
            throw TestClientError("background work still running after \(timeout) s")
        }
        done.signal()  // later calls return at once
        return try result.withLock { $0! }.get()
    }
}

/// Runs blocking work on a thread of its own and awaits it, so an async test leaves Swift's
/// cooperative pool free for the tasks it is testing.
func onThread<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

import Dispatch

/// The tasks a server's async hooks are running, so that none outlives the server: counted
/// while they run, cancelled together once the loops have ended, and waited for.
final class HookTasks: Sendable {
    private let running = Locked<[ObjectIdentifier: Task<Void, Never>]>([:])
    private let group = DispatchGroup()

    /// `task` runs for `owner` until `end(owner)`.
    func begin(_ owner: AnyObject, _ task: Task<Void, Never>) {
        group.enter()
        running.withLock { $0[ObjectIdentifier(owner)] = task }
    }

    func end(_ owner: AnyObject) {
        if running.withLock({ $0.removeValue(forKey: ObjectIdentifier(owner)) }) != nil { group.leave() }
    }

    /// Cancels the task `owner` runs, if it still does.
    func cancel(_ owner: AnyObject) {
        running.withLock { $0[ObjectIdentifier(owner)] }?.cancel()
    }

    /// Tasks running now.
    var count: Int { running.withLock { $0.count } }

    /// Cancels every task (outside the lock: cancelling runs the tasks' cancellation handlers).
    func cancelAll() {
        running.withLock { Array($0.values) }.forEach { $0.cancel() }
    }

    /// Calls `body` once, when no task runs (at once if none does) or after `limit` with the
    /// number still running then: a task that ignores its cancellation cannot hold a stop.
    func whenNoneRun(within limit: Duration, _ body: @escaping @Sendable (_ stillRunning: Int) -> Void) {
        let called = Locked(false)
        let once: @Sendable (Int) -> Void = { left in
            if called.withLock({ was in defer { was = true }; return !was }) { body(left) }
        }
        group.notify(queue: .global()) { once(0) }
        DispatchQueue.global().asyncAfter(deadline: .now() + limit.dispatchInterval) { [self] in once(count) }
    }
}

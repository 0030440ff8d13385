import Dispatch
import cecho
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One of a server's event loops as an executor, as SwiftNIO's event loops are: jobs enqueued
/// from any thread go through the loop's wakeup and run on the loop's thread between two
/// turns, one at a time, in order.
///
/// As a `TaskExecutor` it runs tasks (the server runs async hooks on it, so that after an
/// `await` a hook is back on its connection's loop thread); as a `SerialExecutor` it can be an
/// actor's executor, so that the actor's state lives on the loop's thread:
///
/// ```swift
/// actor Tally {
///     let executor: LoopExecutor
///     nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
///     var count = 0
///     init(executor: LoopExecutor) { self.executor = executor }
/// }
/// let tally = Tally(executor: server.executors[0])   // or LoopExecutor.current in a hook
/// ```
///
/// Before its loop runs and after it has stopped, jobs run on a serial queue of the
/// executor's own instead, still one at a time and in order: a job is never dropped. Keep
/// the executor (not only its `UnownedSerialExecutor`) for as long as anything may run on it,
/// as an actor does by holding it.
public final class LoopExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    private struct Queue {
        var jobs: [UnownedJob] = []
        /// A drain is posted to the loop (or the fallback queue) and will take the jobs.
        var drainPosted = false
        /// The loop while it takes posts; nil before it is attached and once it has ended.
        var loop: OpaquePointer?
    }

    private let queue = Locked(Queue())
    /// Held while jobs run, so that the loop's drains and the fallback's never overlap.
    private let running = PThreadMutex()
    /// The jobs being run; only touched with `running` held. Swapped with the queue's array,
    /// so that steady traffic allocates no array per drain.
    private nonisolated(unsafe) var batch: [UnownedJob] = []
    /// The thread that runs this executor's jobs now (the loop's, or the fallback's while
    /// it drains), 0 when none: what `isIsolatingCurrentContext` checks.
    private let owner = Locked<pthread_t?>(nil)
    private let fallback = DispatchQueue(label: "SwiftEcho.LoopExecutor")

    init() {}

    /// The executor of the loop whose thread this is: in a hook, the connection's loop. nil on
    /// other threads.
    public static var current: LoopExecutor? {
        guard let context = pthread_getspecific(currentKey) else { return nil }
        return Unmanaged<LoopExecutor>.fromOpaque(context).takeUnretainedValue()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let toFallback = queue.withLock { queue -> Bool in
            queue.jobs.append(job)
            guard !queue.drainPosted else { return false }
            queue.drainPosted = true
            // Under the lock: the loop cannot be detached (and freed) meanwhile.
            if let loop = queue.loop {
                let context = Unmanaged.passRetained(self).toOpaque()
                if ce_loop_post_call(loop, drainTrampoline, context) == 0 { return false }
                let ended = errno == ESHUTDOWN
                Unmanaged<LoopExecutor>.fromOpaque(context).release()
                // Out of memory, the job can run neither on its loop nor elsewhere (that would
                // break the isolation it was promised): as any Swift allocation failure, fatal.
                precondition(ended, "LoopExecutor: no memory to post a job to its loop")
                queue.loop = nil  // it has ended: from now on, the fallback
            }
            return true
        }
        if toFallback { fallback.async { self.drain() } }
    }

    public func isIsolatingCurrentContext() -> Bool? {
        owner.withLock { $0 }.map { pthread_equal($0, pthread_self()) != 0 } ?? false
    }

    public func checkIsolated() {
        precondition(isIsolatingCurrentContext() == true, "not on the loop executor's thread")
    }

    /// From now on jobs go to `loop` (which takes posts until it ends).
    func attach(_ loop: OpaquePointer) {
        queue.withLock { $0.loop = loop }
    }

    /// The loop is about to be freed: jobs go to the fallback.
    func detach() {
        queue.withLock { $0.loop = nil }
    }

    /// The calling thread runs the loop until `body` returns: it owns the executor meanwhile.
    func runningLoop<Result>(_ body: () throws -> Result) rethrows -> Result {
        let me = pthread_self()
        owner.withLock { $0 = me }
        pthread_setspecific(currentKey, Unmanaged.passUnretained(self).toOpaque())
        defer {
            pthread_setspecific(currentKey, nil)
            owner.withLock { $0 = nil }
        }
        return try body()
    }

    /// Runs the jobs queued so far, in order; on the loop's thread between two turns, or on
    /// the fallback queue.
    fileprivate func drain() {
        running.withLock {
            let me = pthread_self()
            let previousOwner = owner.withLock { owner in
                defer { owner = me }
                return owner
            }
            queue.withLock { queue in
                swap(&queue.jobs, &batch)
                queue.drainPosted = false
            }
            for job in batch {
                job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            }
            batch.removeAll(keepingCapacity: true)
            owner.withLock { $0 = previousOwner }
        }
    }
}

/// The thread-specific slot `LoopExecutor.current` reads, set on each loop's thread.
private let currentKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// The loop runs a drain it was posted: the context is the executor, retained for the post.
private let drainTrampoline: @convention(c) (UnsafeMutableRawPointer?) -> Void = { context in
    Unmanaged<LoopExecutor>.fromOpaque(context!).takeRetainedValue().drain()
}

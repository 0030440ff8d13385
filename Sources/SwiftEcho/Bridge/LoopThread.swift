#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain POSIX thread for one event loop: the loop blocks in its poller, so it must not
/// occupy a thread of Swift's cooperative pool.
struct LoopThread: @unchecked Sendable {
    private let handle: pthread_t

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread; nil when the system refuses one.
    static func start(_ body: @escaping @Sendable () -> Void) -> LoopThread? {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
#if canImport(Glibc)
        var handle = pthread_t()
#else
        var handle: pthread_t?
#endif
        let rc = pthread_create(&handle, nil, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            body.run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            return nil
        }
#if canImport(Glibc)
        return LoopThread(handle: handle)
#else
        return LoopThread(handle: handle!)
#endif
    }

    /// Waits for the thread to finish.
    func join() {
        pthread_join(handle, nil)
    }
}

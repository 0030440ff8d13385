#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A detached POSIX thread for one event loop: the loop blocks in its poller, so it must not
/// occupy a thread of Swift's cooperative pool. Whoever needs to know when it ends arranges
/// that in `body` (the server leaves a dispatch group).
enum LoopThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread; false when the system refuses one.
    static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
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
            return false
        }
#if canImport(Glibc)
        pthread_detach(handle)
#else
        pthread_detach(handle!)
#endif
        return true
    }
}

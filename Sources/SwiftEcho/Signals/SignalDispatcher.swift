import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's one route for the signals the library catches: a handler that only writes
/// the signal's number and arrival time to a pipe, and a thread of its own that reads the
/// pipe and calls whoever subscribed, so that handling a signal may log, lock and call into
/// a server. Not `sigwait`: a thread in `sigwait` shows its signals as unblocked, so on a crash
/// Swift's backtracer picks SIGUSR1 to pause that thread, `sigwait` takes it as a request, and
/// the backtracer retries for 30 s before the process dies. With a real handler, the
/// backtracer's own SIGUSR1 handler (installed for the crash) runs.
///
/// A signal is caught while someone subscribes to it; when the last subscriber leaves, its
/// previous disposition comes back. The thread stays, with every signal unblocked, so that a
/// signal other threads block still reaches that disposition.
final class SignalDispatcher: Sendable {
    /// One subscriber's signals and where they go: on the signal thread, one call at a time,
    /// with the arrival time on the monotonic clock in nanoseconds.
    private struct Subscriber {
        let signals: Set<Int32>
        let deliver: @Sendable (ProcessSignal, UInt64) -> Void
    }

    private struct State {
        var threadStarted = false
        var subscribers: [UInt64: Subscriber] = [:]
        var nextID: UInt64 = 1
        /// What each caught signal did before we caught it, to put back.
        var previous: [Int32: sigaction] = [:]
    }

    static let shared = SignalDispatcher()

    private let state = Locked(State())

    /// Catches `signals` and calls `deliver` for each that arrives, until `unsubscribe`.
    /// Returns the subscription's id. Fails (catching nothing) if a signal cannot be caught
    /// (SIGKILL, SIGSTOP) or the pipe or thread cannot be made.
    func subscribe(_ signals: Set<ProcessSignal>,
                   deliver: @escaping @Sendable (ProcessSignal, UInt64) -> Void) throws(SignalError) -> UInt64 {
        try state.withLock { (state: inout State) throws(SignalError) -> UInt64 in
            try startThread(&state)
            var installed: [Int32] = []
            for number in signals.map(\.rawValue).sorted() where state.previous[number] == nil {
                var action = sigaction()
#if canImport(Glibc)
                action.__sigaction_handler.sa_handler = writeSignalRecord
#else
                action.__sigaction_u.__sa_handler = writeSignalRecord
#endif
                sigfillset(&action.sa_mask)
                action.sa_flags = SA_RESTART
                var old = sigaction()
                guard sigaction(number, &action, &old) == 0 else {
                    let reason = String(cString: strerror(errno))
                    for done in installed { restore(done, &state) }
                    throw SignalError("sigaction(\(ProcessSignal(rawValue: number))): \(reason)")
                }
                state.previous[number] = old
                installed.append(number)
            }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = Subscriber(signals: Set(signals.map(\.rawValue)), deliver: deliver)
            return id
        }
    }

    /// Ends a subscription; a signal no one else subscribes to gets its previous disposition
    /// back. A delivery already under way may still arrive.
    func unsubscribe(_ id: UInt64) {
        state.withLock { state in
            guard let gone = state.subscribers.removeValue(forKey: id) else { return }
            let stillWanted = state.subscribers.values.reduce(into: Set<Int32>()) { $0.formUnion($1.signals) }
            for number in gone.signals.subtracting(stillWanted) { restore(number, &state) }
        }
    }

    private func restore(_ number: Int32, _ state: inout State) {
        guard var old = state.previous.removeValue(forKey: number) else { return }
        sigaction(number, &old, nil)
    }

    /// The pipe and the thread, once per process.
    private func startThread(_ state: inout State) throws(SignalError) {
        guard !state.threadStarted else { return }
        if SignalPipe.writeEnd.load(ordering: .acquiring) < 0 {
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else { throw SignalError("pipe(): \(String(cString: strerror(errno)))") }
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            // A full pipe must never block the handler; a record dropped then is one of a
            // signal already waiting to be read.
            _ = fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK)
            SignalPipe.readEnd.store(ends[0], ordering: .releasing)
            SignalPipe.writeEnd.store(ends[1], ordering: .releasing)
        }
        let started = LoopThread.start { [self] in readSignals() }
        guard started else { throw SignalError("pthread_create(signal thread): cannot start a thread") }
        state.threadStarted = true
    }

    private func readSignals() {
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        let fd = SignalPipe.readEnd.load(ordering: .acquiring)
        var record = SignalRecord()
        while readWhole(fd, &record) {
            let signal = ProcessSignal(rawValue: record.number)
            let subscribers = state.withLock { $0.subscribers.values.filter { $0.signals.contains(record.number) } }
            for subscriber in subscribers { subscriber.deliver(signal, record.nanoseconds) }
        }
    }

    /// Reads one record; false if the pipe failed (it never closes).
    private func readWhole(_ fd: Int32, _ record: inout SignalRecord) -> Bool {
        withUnsafeMutableBytes(of: &record) { bytes in
            var got = 0
            while got < bytes.count {
                let n = read(fd, bytes.baseAddress! + got, bytes.count - got)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { return false }
                got += n
            }
            return true
        }
    }
}

/// What the handler writes: one record, far below PIPE_BUF, so each write is whole or nothing.
private struct SignalRecord {
    var number: Int32 = 0
    var nanoseconds: UInt64 = 0
}

/// The pipe's ends, set once before the first handler is installed.
private enum SignalPipe {
    static let readEnd = Atomic<Int32>(-1)
    static let writeEnd = Atomic<Int32>(-1)
}

/// The time now on the monotonic clock, in nanoseconds (async-signal-safe).
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// The handler: async-signal-safe, it writes the record and keeps errno.
private let writeSignalRecord: @convention(c) (Int32) -> Void = { number in
    let savedErrno = errno
    var record = SignalRecord(number: number, nanoseconds: monotonicNanoseconds())
    _ = withUnsafeBytes(of: &record) { write(SignalPipe.writeEnd.load(ordering: .relaxed), $0.baseAddress, $0.count) }
    errno = savedErrno
}

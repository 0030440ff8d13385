extension ProcessSignal {
    /// The signals of `signals` as they arrive, caught from this call until the sequence is
    /// dropped or its task is cancelled (then each gets back what it did before). Each signal
    /// is handled on a thread of the library's by a handler that only writes to a pipe, so
    /// the loop that iterates may do anything. The signals are not blocked anywhere: one may
    /// interrupt another thread's system call, which then fails with EINTR or is restarted.
    /// Up to 64 signals not yet iterated are kept; older ones are dropped.
    ///
    /// ```swift
    /// for await _ in try ProcessSignal.stream(of: [.hangup]) {
    ///     reload()
    /// }
    /// ```
    public static func stream(of signals: Set<ProcessSignal>) throws(SignalError) -> AsyncStream<ProcessSignal> {
        let (stream, continuation) = AsyncStream.makeStream(of: ProcessSignal.self,
                                                            bufferingPolicy: .bufferingNewest(64))
        let id = try SignalDispatcher.shared.subscribe(signals) { signal, _ in continuation.yield(signal) }
        continuation.onTermination = { _ in SignalDispatcher.shared.unsubscribe(id) }
        return stream
    }
}

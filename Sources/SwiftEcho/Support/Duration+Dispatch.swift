import Dispatch

extension Duration {
    /// The same span for Dispatch's timers, to the nanosecond; `.never` past what they count.
    var dispatchInterval: DispatchTimeInterval {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflowAgain) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow || overflowAgain ? .never : .nanoseconds(Int(clamping: total))
    }
}

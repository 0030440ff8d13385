import cbench
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The live line a run shows on a terminal: phase, elapsed time, current rate. Written to
/// standard error and redrawn in place; nil (nothing shown) when standard error is not a
/// terminal, so piped and captured output stays clean.
final class ProgressLine {
    private var label: String
    private var lastElapsed = 0.0
    private var lastRoundTrips: UInt64 = 0
    private var shown = false

    init?(label: String) {
        guard isatty(STDERR_FILENO) == 1 else { return nil }
        self.label = label
    }

    func update(phase: cb_phase, elapsed: Double, roundTrips: UInt64) {
        let name: String
        switch phase {
        case CB_PHASE_CONNECT: name = "connecting"
        case CB_PHASE_WARMUP: name = "warming up"
        case CB_PHASE_MEASURE: name = "measuring"
        case CB_PHASE_DRAIN: name = "draining"
        default: name = "done"
        }
        // The rate over the last tick; a new phase starts from zero.
        if elapsed < lastElapsed { lastElapsed = 0; lastRoundTrips = 0 }
        let interval = elapsed - lastElapsed
        let rate = interval > 0.05 ? Double(roundTrips &- lastRoundTrips) / interval : nil
        if interval > 0.05 {
            lastElapsed = elapsed
            lastRoundTrips = roundTrips
        }
        var line = "\r\u{1B}[2K\(label)\(name) \(Decimal3.fixed(elapsed, places: 1)) s"
        if let rate, phase != CB_PHASE_CONNECT { line += "  \(Decimal3.grouped(rate)) round trips/s" }
        write(line)
        shown = true
    }

    /// What each line starts with from now on, e.g. which run of a suite this is.
    func relabel(_ label: String) {
        self.label = label
        lastElapsed = 0
        lastRoundTrips = 0
    }

    /// A free-form status, for work that is not a load run.
    func show(_ status: String) {
        write("\r\u{1B}[2K\(label)\(status)")
        shown = true
    }

    func finish() {
        if shown { write("\r\u{1B}[2K") }
        shown = false
    }

    private func write(_ text: String) { StandardError.write(text) }
}

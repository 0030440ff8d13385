import cecho

/// The `--max-connections` cap shared by every loop of a server: the C core's thread-safe
/// budget, owned here so that it outlives the loops (each ``CoreLoop`` keeps a reference).
final class ConnectionBudget: @unchecked Sendable {
    let raw: OpaquePointer

    /// nil without memory.
    init?(max: Int) {
        guard let made = ce_budget_create(UInt32(clamping: max)) else { return nil }
        raw = made
    }

    deinit {
        ce_budget_destroy(raw)
    }

    /// A new cap, from any thread (a reload); connections above it stay.
    func setMax(_ max: Int) {
        ce_budget_set_max(raw, UInt32(clamping: max))
    }
}

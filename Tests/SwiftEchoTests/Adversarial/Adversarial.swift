import Testing

/// RELIABILITY.md's cases, one suite per concern, nested here so they run one at a time: each
/// loads the 2-core machine on its own (thousands of sockets, full-speed streams), and the
/// ones that bound a latency must not measure each other. Serial, they also hold at most one
/// of the cooperative pool's threads, leaving the rest of the suite (and its tasks) to run.
@Suite(.serialized) enum Adversarial {}

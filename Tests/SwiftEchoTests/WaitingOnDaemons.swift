import Testing

/// Suites of short daemon tests that block while they wait (for a reload to be logged, a
/// timeout to close a connection), run one test at a time: each holds a thread of the
/// two-thread task pool meanwhile, and several at once would starve the tasks that other
/// suites' hooks and deferred replies run on.
@Suite(.serialized) enum WaitingOnDaemons {}

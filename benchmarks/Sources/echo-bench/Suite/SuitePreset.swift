/// What `echo-bench suite` runs when no option says otherwise. Each option given on the command
/// line replaces its part of the preset.
///
/// The default takes about 3 minutes on a 2-core machine with every backend of Linux (io_uring
/// included); `--quick` is a look in about 15 seconds; `--full` is the matrix RESULTS.md
/// publishes (about 17 minutes).
enum SuitePreset: String, CaseIterable, Sendable {
    case quick, standard, full

    var workloads: [Workload] {
        switch self {
        case .quick:
            [Workload(conns: 10, size: 1024), Workload(conns: 100, size: 1024), Workload(mode: .stream, conns: 10, size: 65536)]
        case .standard:
            [Workload(conns: 1, size: 64), Workload(conns: 10, size: 1024), Workload(conns: 100, size: 1024),
             Workload(conns: 1000, size: 1024), Workload(mode: .stream, conns: 10, size: 65536)]
        case .full:
            // Ping-pong 64 B and 1 KiB at 1, 10, 100 and 1000 connections; 16 KiB at 10; a
            // 64 KiB stream at 10.
            [1, 10, 100, 1000].flatMap { conns in [64, 1024].map { Workload(conns: conns, size: $0) } }
                + [Workload(conns: 10, size: 16384), Workload(mode: .stream, conns: 10, size: 65536)]
        }
    }

    var rounds: Int { self == .quick ? 1 : 3 }
    var duration: Double { self == .quick ? 0.5 : self == .standard ? 1.5 : 3 }
    var warmup: Double { self == .quick ? 0.2 : self == .standard ? 0.5 : 1 }
    var idleConnections: Int { self == .quick ? 1000 : 10_000 }

    /// The hook's cost does not depend on the backend: only `--full` measures `upper` on every
    /// backend; the others measure it on the platform's default backend.
    var upperOnEveryBackend: Bool { self == .full }

    /// One line for `--help`.
    var summary: String {
        let names = workloads.map(\.name).joined(separator: ", ")
        let hooks = upperOnEveryBackend ? "echo and upper on every backend" : "echo on every backend, upper on the default one"
        return "\(hooks); \(names); \(rounds) round\(rounds == 1 ? "" : "s") of \(Decimal3.text(duration)) s "
            + "after \(Decimal3.text(warmup)) s; idle memory at \(idleConnections) connections"
    }
}

import SwiftEcho
import cecho

/// A server the suite measures: echo-cli with a backend and a hook, or any command line with
/// `{port}` (and optionally `{host}`) in it.
struct ServerSpec: Sendable {
    enum Launch: Sendable {
        case echoCLI(backend: Backend, hook: String)
        case shell(String)
    }

    var name: String
    var launch: Launch

    /// What its replies should be, so the load generator can check them.
    var expectation: Workload.Expectation {
        if case .echoCLI(_, let hook) = launch, hook == "upper" || hook == "async-upper" { return .upper }
        return .echo
    }

    /// Why this server cannot hold `connections` at once by design, for the tables: echo-cli on
    /// select watches only descriptors below FD_SETSIZE, less those the core keeps for itself.
    /// nil when it can (or when nothing is known of its limits).
    func cannotServe(_ connections: Int) -> String? {
        guard case .echoCLI(let backend, _) = launch else { return nil }
        let bound = Int(ce_backend_fd_bound(backend.rawValue))
        guard bound < Int(Int32.max), connections > bound - Int(CE_RESERVED_FDS) else { return nil }
        return "n/a (FD_SETSIZE)"
    }

    /// `NAME=COMMAND` from `--compare`.
    static func parseCompare(_ text: String) throws(UsageError) -> ServerSpec {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw UsageError("Invalid value '\(text)' for '--compare <name=command>': expected NAME='COMMAND WITH {port}'.")
        }
        let command = String(text[text.index(after: equals)...])
        guard command.contains("{port}") else {
            throw UsageError("The command for '--compare \(text[..<equals])' has no {port}: the suite must tell it where to listen.")
        }
        return ServerSpec(name: String(text[..<equals]), launch: .shell(command))
    }

    /// The argument vector to spawn, with `{port}`, `{host}` and `{logs}` (the folder for the
    /// server's files, shell-quoted) filled in.
    /// `connections`: how many the suite may hold open at once, so echo-cli's cap is raised
    /// past its default (10000) when a workload needs it.
    func arguments(echoCLI: String, host: String, port: Int, logs: String, connections: Int) -> [String] {
        switch launch {
        case .echoCLI(let backend, let hook):
            let cap = connections > 10_000 ? ["--max-connections", String(connections)] : []
            return [echoCLI, "--host", host, "--port", String(port), "--backend", backend.rawValue,
                    "--hook", hook, "--log-level", "warning"] + cap
        case .shell(let command):
            let filled = command.replacing("{port}", with: String(port)).replacing("{host}", with: host)
                .replacing("{logs}", with: logs.shellQuoted)
            return ["/bin/sh", "-c", filled]
        }
    }
}

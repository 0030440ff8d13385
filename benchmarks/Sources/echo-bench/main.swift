// echo-bench: load, micro and suite. See benchmarks/README.md.

let commands: [(spec: CommandSpec, run: (ParsedOptions) throws(UsageError) -> ExitStatus)] = [
    (LoadCommand.spec, LoadCommand.run),
    (MicroCommand.spec, MicroCommand.run),
    (SuiteCommand.spec, SuiteCommand.run),
]

let usage = """
    OVERVIEW: Measure echo servers: throughput, latency, CPU and memory, side by side.

    USAGE: echo-bench <subcommand> [options]

    SUBCOMMANDS:
    \(commands.map { "  " + $0.spec.name.padding(to: 8) + $0.spec.abstract }.joined(separator: "\n"))

      See 'echo-bench <subcommand> --help' for each one's options.
    """

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first else {
    StandardError.line("Error: Missing subcommand.\n\(usage)")
    ExitStatus.usage.terminate()
}
if ["-h", "--help", "help"].contains(name) {
    print(usage)
    ExitStatus.success.terminate()
}
guard let command = commands.first(where: { $0.spec.name == name }) else {
    StandardError.line("Error: Unknown subcommand '\(name)'.\n\(usage)")
    ExitStatus.usage.terminate()
}
do {
    let options = try ParsedOptions(Array(arguments.dropFirst()), for: command.spec)
    if options.wantsHelp {
        print(command.spec.help())
        ExitStatus.success.terminate()
    }
    try command.run(options).terminate()
} catch {
    StandardError.line("Error: \(error.message)\nUsage: echo-bench \(name) [options]; see 'echo-bench \(name) --help'.")
    ExitStatus.usage.terminate()
}

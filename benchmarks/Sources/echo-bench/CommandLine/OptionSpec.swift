/// One option of a subcommand: `--name <value>`, or a bare `--flag` when it takes no value.
struct OptionSpec: Sendable {
    var name: String
    /// nil for a flag.
    var valueName: String?
    var help: String
    var isRepeatable = false

    static func value(_ name: String, _ valueName: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, valueName: valueName, help: help)
    }

    static func repeated(_ name: String, _ valueName: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, valueName: valueName, help: help, isRepeatable: true)
    }

    static func flag(_ name: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, valueName: nil, help: help)
    }

    var synopsis: String {
        valueName.map { "--\(name) <\($0)>" } ?? "--\(name)"
    }
}

/// A subcommand's name, what it does, and its options: enough to parse and to print help.
struct CommandSpec: Sendable {
    var name: String
    var abstract: String
    var options: [OptionSpec]
    var discussion: String = ""

    func help() -> String {
        var lines = ["OVERVIEW: \(abstract)", "", "USAGE: echo-bench \(name) [options]", "", "OPTIONS:"]
        let width = (options.map(\.synopsis.count).max() ?? 0) + 2
        for option in options + [.flag("help", "Show this help.")] {
            let label = option.synopsis + (option.isRepeatable ? " ..." : "")
            lines.append("  " + label.padding(to: width + 4) + option.help)
        }
        if !discussion.isEmpty { lines += ["", discussion] }
        return lines.joined(separator: "\n")
    }
}

extension String {
    /// Left-aligned in `width` columns, for tables printed in a terminal.
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }

    /// Right-aligned in `width` columns.
    func leftPadding(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

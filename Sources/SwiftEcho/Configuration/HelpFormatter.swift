/// Lays out help text the way swift-argument-parser does: section headings, options indented
/// by two spaces, descriptions in one aligned column, everything wrapped to ``width``.
struct HelpFormatter {
    /// One row of the OPTIONS section.
    struct Entry: Sendable, Equatable {
        /// `--port <port>`
        var label: String
        var description: String
        /// `(default: 10000, env: ECHO_PORT)`: kept whole on a line of its own when it does
        /// not fit after the description. Wrapping never breaks inside a ``nonBreakingSpace``.
        var details: String? = nil
    }

    /// Joins words that must stay on one line, like `env:` and its variable.
    static let nonBreakingSpace: Character = "\u{A0}"

    var width = 80
    /// Labels longer than this put their description on the next line.
    var maximumLabelWidth = 30

    func render(overview: String, usage: String, entries: [Entry], notes: [String]) -> String {
        var lines = wrap("OVERVIEW: \(overview)", width: width)
        lines.append("")
        lines.append("USAGE: \(usage)")
        lines.append("")
        lines.append("OPTIONS:")
        let labelWidth = min(entries.map(\.label.count).max() ?? 0, maximumLabelWidth)
        let indent = String(repeating: " ", count: 2 + labelWidth + 2)
        for entry in entries {
            lines += layout(entry, indent: indent)
        }
        lines.append("")
        for note in notes {
            lines += wrap(note, width: width)
        }
        let text = lines.joined(separator: "\n")
        return String(text.map { $0 == Self.nonBreakingSpace ? " " : $0 })
    }

    private func layout(_ entry: Entry, indent: String) -> [String] {
        let columnWidth = width - indent.count
        var body = wrap(entry.description, width: columnWidth)
        if let details = entry.details {
            if let last = body.last, last.count + 1 + details.count <= columnWidth {
                body[body.count - 1] = last + " " + details
            } else {
                body += wrap(details, width: columnWidth)
            }
        }
        let label = "  " + entry.label
        var lines: [String]
        if label.count + 2 <= indent.count, let first = body.first {
            lines = [label + String(repeating: " ", count: indent.count - label.count) + first]
            body.removeFirst()
        } else {
            lines = [label]
        }
        return lines + body.map { indent + $0 }
    }

    /// Greedy word wrap; a word longer than the width gets a line of its own.
    func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if line.isEmpty {
                line = String(word)
            } else if line.count + 1 + word.count <= width {
                line += " " + word
            } else {
                lines.append(line)
                line = String(word)
            }
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }
}

/// Prometheus's text exposition format, version 0.0.4: for each family a `# HELP` and a
/// `# TYPE` line, then its samples, one per line (`name{label="value"} 42`).
///
/// ```swift
/// var text = PrometheusText()
/// text.family("echo_messages_total", .counter, help: "Messages answered.")
/// text.sample("echo_messages_total", labels: [("loop", "0")], 42)
/// ```
struct PrometheusText {
    enum MetricType: String {
        case counter, gauge, histogram
    }

    /// The Content-Type of this format.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private(set) var text = ""

    /// Starts a family: its help (one line; backslashes and newlines escaped) and its type.
    mutating func family(_ name: String, _ type: MetricType, help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type.rawValue)\n"
    }

    /// One sample of the current family (a histogram's `_bucket`, `_sum` and `_count` lines
    /// are samples with those suffixes).
    mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: Double) {
        line(name, labels, Self.format(value))
    }

    /// An integer sample, printed exactly (a Double would round counters past 2^53).
    mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: UInt64) {
        line(name, labels, "\(value)")
    }

    private mutating func line(_ name: String, _ labels: [(String, String)], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + value + "\n"
    }

    /// Go's float syntax, which Prometheus parses: `+Inf`, `-Inf`, `NaN`, else decimal or
    /// exponent form.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// A label value: backslash, double quote and newline escaped.
    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// Help text: backslash and newline escaped.
    static func escapeHelp(_ help: String) -> String {
        help.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }
}

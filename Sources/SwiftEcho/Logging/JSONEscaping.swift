/// JSON string escaping, shared by the JSON log format, configuration error messages and the
/// benchmark runner's `--json` output.
package enum JSONEscaping {
    /// `text` as a JSON string literal, quotes included. Quotes, backslashes, controls (C0, DEL,
    /// C1) and the Unicode line separators are escaped (`\n`, `\t`, … or `\uXXXX`); everything
    /// else, including other non-ASCII, passes through as UTF-8, which JSON allows.
    package static func quoted(_ text: String) -> String {
        var result = "\""
        result.reserveCapacity(text.utf8.count + 2)
        appendEscaped(text, to: &result)
        result += "\""
        return result
    }

    static func appendEscaped(_ text: String, to result: inout String) {
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case _ where scalar.breaksLineOrControlsTerminal:
                // \uXXXX: JSON allows escaping any character, and these must not reach a
                // terminal or a line-oriented reader raw.
                result += "\\u"
                for shift in [12, 8, 4, 0] { result += hexDigits[Int((scalar.value >> UInt32(shift)) & 0xF)] }
            default:
                result.unicodeScalars.append(scalar)
            }
        }
    }

    private static let hexDigits = "0123456789abcdef".map(String.init)
}

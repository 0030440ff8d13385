/// The console line: `2026-11-27T04:15:41.123Z info echo-cli: conn.id=7 peer.address=127.0.0.1:5000 closing connection`.
enum TextLogFormatter {
    static func line(for record: LogRecord) -> String {
        var line = "\(record.timestamp.iso8601) \(record.level.rawValue) \(escaped(record.label)):"
        for key in record.metadata.keys.sorted() {
            line += " \(escaped(key))=\(value(record.metadata[key] ?? ""))"
        }
        line += " "
        line += escaped(record.message)
        return line
    }

    /// A metadata value as is, or in double quotes with escapes when it holds anything that
    /// would make the line ambiguous: spaces, `=`, quotes, backslashes, control characters.
    static func value(_ text: String) -> String {
        let needsQuotes = text.isEmpty || text.unicodeScalars.contains { scalar in
            scalar == " " || scalar == "=" || scalar == "\"" || scalar == "\\" || scalar.breaksLineOrControlsTerminal
        }
        return needsQuotes ? JSONEscaping.quoted(text) : text
    }

    /// Control characters escaped, so that one record is always one line: a newline in a
    /// message from a client cannot forge a second log line.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: \.breaksLineOrControlsTerminal) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.breaksLineOrControlsTerminal {
                result += String(JSONEscaping.quoted(String(scalar)).dropFirst().dropLast())
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}

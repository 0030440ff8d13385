/// One JSON object per line:
/// `{"timestamp":"…","level":"info","label":"echo-cli","message":"…","conn.id":"7"}`.
enum JSONLogFormatter {
    /// The fixed fields, written first. A metadata key that collides with one of them is
    /// written as `metadata.<key>` so the object never has duplicate keys.
    static let reservedKeys: Set<String> = ["timestamp", "level", "label", "message"]

    static func line(for record: LogRecord) -> String {
        var line = "{\"timestamp\":\"\(record.timestamp.iso8601)\",\"level\":\"\(record.level.rawValue)\""
        line += ",\"label\":" + JSONEscaping.quoted(record.label)
        line += ",\"message\":" + JSONEscaping.quoted(record.message)
        for key in record.metadata.keys.sorted() {
            let name = reservedKeys.contains(key) ? "metadata.\(key)" : key
            line += "," + JSONEscaping.quoted(name) + ":" + JSONEscaping.quoted(record.metadata[key] ?? "")
        }
        line += "}"
        return line
    }
}

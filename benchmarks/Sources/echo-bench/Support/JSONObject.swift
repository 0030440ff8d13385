import SwiftEcho

/// A JSON object written key by key, in order, for `--json` output: one line, no spaces.
struct JSONObject {
    private var members: [String] = []

    mutating func add(_ key: String, _ value: String) {
        members.append(Self.quoted(key) + ":" + Self.quoted(value))
    }

    mutating func add(_ key: String, _ value: Int) {
        members.append(Self.quoted(key) + ":" + String(value))
    }

    mutating func add(_ key: String, _ value: UInt64) {
        members.append(Self.quoted(key) + ":" + String(value))
    }

    /// Numbers are rounded to 3 decimals; nil and non-finite values are written as null.
    mutating func add(_ key: String, _ value: Double?) {
        guard let value, value.isFinite else {
            members.append(Self.quoted(key) + ":null")
            return
        }
        members.append(Self.quoted(key) + ":" + Decimal3.text(value))
    }

    mutating func add(_ key: String, _ value: Bool) {
        members.append(Self.quoted(key) + ":" + (value ? "true" : "false"))
    }

    mutating func add(_ key: String, object: JSONObject) {
        members.append(Self.quoted(key) + ":" + object.text)
    }

    mutating func add(_ key: String, array: [JSONObject]) {
        members.append(Self.quoted(key) + ":[" + array.map(\.text).joined(separator: ",") + "]")
    }

    var text: String { "{" + members.joined(separator: ",") + "}" }

    private static func quoted(_ text: String) -> String { JSONEscaping.quoted(text) }
}

/// Fixed-point text without Foundation: `12.345`, `-0.5`, `7`.
enum Decimal3 {
    /// Up to `places` decimals, trailing zeros dropped.
    static func text(_ value: Double, places: Int = 3) -> String {
        var text = fixed(value, places: places)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// Exactly `places` decimals, for table columns: `6.90`, `143.00`, `7`.
    static func fixed(_ value: Double, places: Int) -> String {
        guard value.isFinite else { return "nan" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return String(value) }
        let units = Int(scaled)
        let sign = value < 0 && units > 0 ? "-" : ""
        guard places > 0 else { return sign + String(units) }
        let fraction = String(units % Int(scale))
        return sign + String(units / Int(scale)) + "." + String(repeating: "0", count: places - fraction.count) + fraction
    }

    /// `143,706`: a whole number with thousands separators.
    static func grouped(_ value: Double) -> String {
        let whole = Int(value.rounded())
        var digits = String(abs(whole))
        var groups: [Substring] = []
        while digits.count > 3 {
            groups.insert(digits.suffix(3), at: 0)
            digits.removeLast(3)
        }
        groups.insert(Substring(digits), at: 0)
        return (whole < 0 ? "-" : "") + groups.joined(separator: ",")
    }
}

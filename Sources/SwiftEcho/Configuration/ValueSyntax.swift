/// The textual forms a setting's value can take, parsed strictly and printed so that they parse
/// back. Every function refuses by returning nil: nothing here traps, whatever the input.
enum ValueSyntax {
    static let kibibyte = 1024
    static let mebibyte = 1024 * 1024
    static let gibibyte = 1024 * 1024 * 1024

    /// Binary size suffixes, largest first so ``formatSize(_:)`` picks the shortest form.
    private static let sizeSuffixes: [(suffix: String, multiplier: Int)] = [
        ("GiB", gibibyte), ("MiB", mebibyte), ("KiB", kibibyte),
    ]

    /// A plain non-negative decimal integer: digits only, no sign, no spaces, no exponent.
    static func parseInteger(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy(isDigit) else { return nil }
        return Int(text, radix: 10)  // nil on overflow
    }

    static func parseInteger(_ text: String) -> Int? {
        parseInteger(text[...])
    }

    /// Octal permissions: one to four octal digits, at most 0777 (no setuid, setgid or sticky
    /// bits: they mean nothing on a socket).
    static func parsePermissions(_ text: String) -> Int? {
        guard (1...4).contains(text.utf8.count), text.utf8.allSatisfy({ (48...55).contains($0) }),
              let mode = Int(text, radix: 8), mode <= 0o777
        else { return nil }
        return mode
    }

    /// `0660`: four octal digits, as `chmod` and systemd's `SocketMode=` show them.
    static func formatPermissions(_ mode: Int) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Bytes: an integer, optionally followed by `KiB`, `MiB` or `GiB` (any letter case).
    static func parseSize(_ text: String) -> Int? {
        for (suffix, multiplier) in sizeSuffixes {
            guard text.count > suffix.count,
                  text.suffix(suffix.count).lowercased() == suffix.lowercased()
            else { continue }
            guard let count = parseInteger(text.dropLast(suffix.count)) else { return nil }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: multiplier)
            return overflow ? nil : bytes
        }
        return parseInteger(text)
    }

    /// Seconds: digits with an optional fraction (`60`, `1.5`, `.25`), kept exactly down to the
    /// attosecond so that 0.25 s is 250 ms and not 249.999… ms. No sign, exponent, NaN or inf.
    static func parseSeconds(_ text: String) -> Duration? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty),
              whole.utf8.allSatisfy(isDigit), fraction.utf8.allSatisfy(isDigit)
        else { return nil }
        // An Int64 holds 18 decimal digits safely; more seconds than that is out of any range.
        let significantWhole = whole.drop { $0 == "0" }
        guard significantWhole.count <= 18 else { return nil }
        let seconds = significantWhole.isEmpty ? 0 : Int64(significantWhole, radix: 10) ?? 0
        // Digits past the attosecond are below Duration's resolution: dropped, not rounded.
        let attosecondDigits = String(fraction.prefix(18))
        let padded = attosecondDigits + String(repeating: "0", count: 18 - attosecondDigits.count)
        let attoseconds = Int64(padded, radix: 10) ?? 0
        return Duration(secondsComponent: seconds, attosecondsComponent: attoseconds)
    }

    /// `262144` → `256KiB`; sizes that are not a whole number of a unit stay plain bytes.
    static func formatSize(_ bytes: Int) -> String {
        for (suffix, multiplier) in sizeSuffixes where bytes > 0 && bytes % multiplier == 0 {
            return "\(bytes / multiplier)\(suffix)"
        }
        return "\(bytes)"
    }

    /// `60`, `1.5`, `0.25`: the shortest text that ``parseSeconds(_:)`` reads back exactly.
    /// Negative durations print with a sign, so they never read back as valid.
    static func formatSeconds(_ duration: Duration) -> String {
        if duration < .zero { return "-" + formatSeconds(.zero - duration) }
        let (seconds, attoseconds) = duration.components
        guard attoseconds != 0 else { return "\(seconds)" }
        let digits = String(attoseconds)
        var fraction = String(repeating: "0", count: 18 - digits.count) + digits
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(seconds).\(fraction)"
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}

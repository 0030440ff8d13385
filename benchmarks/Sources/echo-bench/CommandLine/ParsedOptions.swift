/// A mistake on the command line: printed with the subcommand's usage, exit status 64.
struct UsageError: Error, Sendable {
    var message: String
    init(_ message: String) { self.message = message }
}

/// The options a command line gave, by name, in the manner of swift-argument-parser:
/// `--name value` and `--name=value`, bare flags, and a usage error for anything unknown,
/// missing or given twice when it may be given only once.
struct ParsedOptions: Sendable {
    private(set) var values: [String: [String]] = [:]
    let command: CommandSpec
    private(set) var wantsHelp = false

    init(_ arguments: [String], for command: CommandSpec) throws(UsageError) {
        self.command = command
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "-h" || argument == "--help" {
                wantsHelp = true
                continue
            }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw UsageError("Unexpected argument '\(argument)'.")
            }
            let body = argument.dropFirst(2)
            let name = String(body.prefix { $0 != "=" })
            let inline = body.firstIndex(of: "=").map { String(body[body.index(after: $0)...]) }
            guard let option = command.options.first(where: { $0.name == name }) else {
                throw UsageError("Unknown option '--\(name)'.")
            }
            let value: String
            if option.valueName == nil {
                if inline != nil { throw UsageError("The flag '--\(name)' does not take a value.") }
                value = "true"
            } else if let inline {
                value = inline
            } else {
                guard index < arguments.count, !arguments[index].hasPrefix("--") else {
                    throw UsageError("Missing value for '\(option.synopsis)'.")
                }
                value = arguments[index]
                index += 1
            }
            if !option.isRepeatable, values[name] != nil {
                throw UsageError("'--\(name)' was given more than once.")
            }
            values[name, default: []].append(value)
        }
    }

    func flag(_ name: String) -> Bool { values[name] != nil }

    func string(_ name: String) -> String? { values[name]?.last }

    func strings(_ name: String) -> [String] { values[name] ?? [] }

    func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw invalid(name, text, "an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// Seconds, as a decimal number.
    func seconds(_ name: String, default fallback: Double, in range: ClosedRange<Double>) throws(UsageError) -> Double {
        guard let text = string(name) else { return fallback }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw invalid(name, text, "a number of seconds from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// Bytes: a plain count, or with a binary suffix such as `64KiB`, `64k` or `1MiB`.
    func bytes(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = ByteCount.parse(text), range.contains(value) else {
            throw invalid(name, text, "a byte count from \(range.lowerBound) to \(ByteCount.format(range.upperBound)), e.g. 1024 or 64KiB")
        }
        return value
    }

    func choice<Value>(_ name: String, default fallback: Value, _ choices: [(String, Value)]) throws(UsageError) -> Value {
        guard let text = string(name) else { return fallback }
        guard let match = choices.first(where: { $0.0 == text }) else {
            throw invalid(name, text, "one of \(choices.map(\.0).joined(separator: ", "))")
        }
        return match.1
    }

    func invalid(_ name: String, _ text: String, _ expectation: String) -> UsageError {
        let synopsis = command.options.first { $0.name == name }?.synopsis ?? "--\(name)"
        return UsageError("Invalid value '\(text)' for '\(synopsis)': expected \(expectation).")
    }
}

/// Byte counts as people type them: `1024`, `64k`, `64KiB`, `1M`, `1MiB` (binary units).
enum ByteCount {
    static func parse(_ text: String) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let count = Int(digits) else { return nil }
        let multiplier: Int
        switch text.dropFirst(digits.count).lowercased() {
        case "", "b": multiplier = 1
        case "k", "kib", "kb": multiplier = 1 << 10
        case "m", "mib", "mb": multiplier = 1 << 20
        default: return nil
        }
        let (value, overflow) = count.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : value
    }

    /// `64 B`, `16 KiB`, `1 MiB`: the short form when it is exact.
    static func format(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) B"
    }
}

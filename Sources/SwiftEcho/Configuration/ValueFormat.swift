/// How one kind of value is read from text, printed back, and described when refused.
/// The factories below are the only place that knows value syntax and ranges.
struct ValueFormat<Value>: Sendable {
    var kind: SettingKind
    /// What a valid value looks like, completing "expected …".
    var expectation: String
    /// For choices, the accepted names, listed in help.
    var allowedValues: [String]? = nil
    var parse: @Sendable (String) -> Value?
    var format: @Sendable (Value) -> String
    /// Why a value that `parse` refused is wrong, when there is more to say than the expectation.
    var problem: @Sendable (String) -> String? = { _ in nil }
}

extension ValueFormat where Value == Int {
    /// A plain decimal integer within `range`.
    static func integer(in range: ClosedRange<Int>) -> ValueFormat {
        ValueFormat(
            kind: .integer,
            expectation: "an integer from \(range.lowerBound) to \(range.upperBound)",
            parse: { text in ValueSyntax.parseInteger(text).flatMap { range.contains($0) ? $0 : nil } },
            format: { "\($0)" }
        )
    }

    /// A byte count within `range`, optionally with a KiB, MiB or GiB suffix.
    static func size(in range: ClosedRange<Int>) -> ValueFormat {
        ValueFormat(
            kind: .size,
            expectation: "a size in bytes from \(range.lowerBound) to \(range.upperBound)"
                + " (suffixes KiB, MiB, GiB allowed)",
            parse: { text in ValueSyntax.parseSize(text).flatMap { range.contains($0) ? $0 : nil } },
            format: ValueSyntax.formatSize
        )
    }
}

extension ValueFormat where Value == Duration {
    /// A number of seconds, fractions allowed, within `range`.
    static func seconds(in range: ClosedRange<Duration>) -> ValueFormat {
        let lower = ValueSyntax.formatSeconds(range.lowerBound)
        let upper = ValueSyntax.formatSeconds(range.upperBound)
        return ValueFormat(
            kind: .duration,
            expectation: "a number of seconds from \(lower) to \(upper) (fractions allowed)",
            parse: { text in ValueSyntax.parseSeconds(text).flatMap { range.contains($0) ? $0 : nil } },
            format: ValueSyntax.formatSeconds
        )
    }
}

extension ValueFormat where Value == String {
    /// Free text that `isValid` accepts, described by `expectation` when it does not.
    static func text(
        expectation: String, isValid: @escaping @Sendable (String) -> Bool
    ) -> ValueFormat {
        ValueFormat(
            kind: .string, expectation: expectation,
            parse: { isValid($0) ? $0 : nil }, format: { $0 }
        )
    }
}

extension ValueFormat where Value == String? {
    /// A file path, or none: the empty text (how a later source clears an earlier one) is nil.
    static var optionalPath: ValueFormat {
        ValueFormat(
            kind: .string, expectation: "a file path without NUL characters",
            parse: { text -> String?? in
                if text.isEmpty { return .some(nil) }  // parsed, and it says "none"
                return text.contains("\0") ? nil : .some(text)
            },
            format: { $0 ?? "" }
        )
    }
}

extension ValueFormat where Value == BuiltinHook {
    /// A built-in hook's name, `prefix:` and any text, or `fail-every:` and a count.
    static var hook: ValueFormat {
        ValueFormat(
            kind: .choice,
            expectation: "one of echo, upper, lower, reverse, rot13, async-upper, prefix:TEXT, fail-every:N (N an integer ≥ 1),"
                + " delay:MS or delay:MIN-MAX (milliseconds, 0 to \(BuiltinHook.maxDelay))",
            allowedValues: BuiltinHook.names,
            parse: { BuiltinHook(name: $0) },
            format: { $0.description }
        )
    }
}

extension ValueFormat where Value == Bool {
    /// On or off. A bare flag on the command line; `true`/`false` (also `1`/`0`, `yes`/`no`,
    /// `on`/`off`, any case) in the environment and the file.
    static var boolean: ValueFormat {
        ValueFormat(
            kind: .boolean, expectation: "true or false",
            parse: { text in
                switch text.lowercased() {
                case "true", "1", "yes", "on": true
                case "false", "0", "no", "off": false
                default: nil
                }
            },
            format: { $0 ? "true" : "false" }
        )
    }
}

extension ValueFormat where Value: RawRepresentable & CaseIterable & Sendable, Value.RawValue == String {
    /// One of the enumeration's raw values, in any letter case (`ECHO_LOG_LEVEL=DEBUG` works).
    static var choice: ValueFormat {
        let cases = Array(Value.allCases)
        let names = cases.map(\.rawValue)
        return ValueFormat(
            kind: .choice,
            expectation: "one of \(names.joined(separator: ", "))",
            allowedValues: names,
            parse: { text in
                let lowered = text.lowercased()
                return cases.first { $0.rawValue == lowered }
            },
            format: { $0.rawValue }
        )
    }
}

extension ValueFormat where Value == ListenAddress {
    /// `HOST:PORT`, `[IPV6]:PORT` or `unix:PATH`; a refusal says what is wrong with the value.
    static var listenAddress: ValueFormat {
        ValueFormat(
            kind: .string, expectation: ListenAddress.expectation,
            parse: { try? ListenAddress(parsing: $0) },
            format: { $0.description },
            problem: { text in
                do throws(ListenAddress.ParseError) {
                    _ = try ListenAddress(parsing: text)
                    return nil
                } catch {
                    return error.description
                }
            }
        )
    }
}

extension ValueFormat where Value == Int {
    /// File permissions as octal digits, `0660` or `660`, at most 0777. Text even in the JSON
    /// file, where a number would read as decimal.
    static var permissions: ValueFormat {
        ValueFormat(
            kind: .string, expectation: "octal permissions from 0000 to 0777, such as 0660",
            parse: ValueSyntax.parsePermissions, format: ValueSyntax.formatPermissions
        )
    }
}

extension ValueFormat where Value == ListenAddress? {
    /// `HOST:PORT` or `[IPV6]:PORT`, or none: the empty text (how a later source clears an
    /// earlier one) is nil. For endpoints served over TCP only, such as HTTP.
    static var optionalTCPAddress: ValueFormat {
        @Sendable func check(_ text: String) -> Result<ListenAddress?, ListenAddress.ParseError> {
            if text.isEmpty { return .success(nil) }
            do throws(ListenAddress.ParseError) {
                let address = try ListenAddress(parsing: text)
                guard case .tcp = address else {
                    return .failure(ListenAddress.ParseError(description: "this endpoint is served over TCP only"))
                }
                return .success(address)
            } catch {
                return .failure(error)
            }
        }
        return ValueFormat(
            kind: .string, expectation: "HOST:PORT or [IPV6]:PORT (PORT from 0 to 65535)",
            parse: { text -> ListenAddress?? in
                if case .success(let address) = check(text) { .some(address) } else { nil }
            },
            format: { $0?.description ?? "" },
            problem: { text in
                if case .failure(let error) = check(text) { error.description } else { nil }
            }
        )
    }
}

/// How a setting's value is written, which decides how each source may give it: a boolean is a
/// bare flag on the command line, numbers may be JSON numbers in the file, and so on.
enum SettingKind: Sendable, Equatable {
    case string
    case choice
    case integer
    case size
    case duration
    case boolean
}

/// A refused value: which of the values handed to ``Setting/assign`` it was, and what a valid
/// one looks like. The source that supplied the values turns it into a message.
struct ValueRejection: Error, Sendable, Equatable {
    /// Index into the values passed to ``Setting/assign``.
    var index: Int
    /// What a valid value looks like, e.g. "an integer from 0 to 65535".
    var expectation: String
    /// What is wrong with this value in particular, when the format can say more than the
    /// expectation: "the port is missing".
    var problem: String? = nil

    /// Completes "The value 'x' is invalid for '--y': …".
    var explanation: String {
        problem.map { "\($0); expected \(expectation)" } ?? "expected \(expectation)"
    }
}

/// One row of a settings table: everything the command line, the environment, the JSON file
/// and the help text need to know about one setting. `Root` is the value the settings fill in
/// (``Configuration`` for the daemon).
///
/// Rows are made with ``single(_:valueName:_:_:help:)`` or ``repeated(_:valueName:_:_:help:)``
/// from a ``ValueFormat`` and a key path, so adding a setting is one row plus a property.
struct Setting<Root>: Sendable {
    /// The long option name, also the JSON key and, upper-cased, the environment variable.
    var name: String
    /// Shown in help as `--name <valueName>`.
    var valueName: String
    /// One or two sentences for the help text.
    var help: String
    var kind: SettingKind
    /// A repeatable setting collects every value a source gives (several flags, a
    /// comma-separated environment string, a JSON array); a later source replaces the list.
    var isRepeatable: Bool
    /// What a valid value looks like, e.g. "an integer from 0 to 65535".
    var expectation: String
    /// For choices, the accepted names, listed in help.
    var allowedValues: [String]?
    /// Parses every value, refusing the first bad one, then stores the last value (or, for a
    /// repeatable setting, all of them) into the root.
    var assign: @Sendable (inout Root, [String]) throws(ValueRejection) -> Void
    /// The root's current value as it would be typed: one text, or one per item of a
    /// repeatable setting. Each parses back through ``assign``.
    var describe: @Sendable (Root) -> [String]

    /// The option as typed on the command line: `--port`.
    var flag: String { "--\(name)" }

    /// `--port <port>`, or `--udp` for a boolean.
    var synopsis: String {
        kind == .boolean ? flag : "\(flag) <\(valueName)>"
    }

    /// The synopsis for help: repeatable settings end in ` ...`.
    var helpLabel: String {
        synopsis + (isRepeatable ? " ..." : "")
    }
}

extension Setting {
    /// A single-valued setting stored at `keyPath`: every value is parsed, the last one wins.
    static func single<Value>(
        _ name: String, valueName: String, _ format: ValueFormat<Value>,
        _ keyPath: WritableKeyPath<Root, Value> & Sendable, help: String
    ) -> Setting {
        Setting(
            name: name, valueName: valueName, help: help, kind: format.kind, isRepeatable: false,
            expectation: format.expectation, allowedValues: format.allowedValues,
            assign: { (root: inout Root, texts: [String]) throws(ValueRejection) in
                var parsed: Value?
                for (index, text) in texts.enumerated() {
                    guard let value = format.parse(text) else {
                        throw ValueRejection(
                            index: index, expectation: format.expectation, problem: format.problem(text))
                    }
                    parsed = value
                }
                if let parsed { root[keyPath: keyPath] = parsed }
            },
            describe: { root in [format.format(root[keyPath: keyPath])] }
        )
    }

    /// A repeatable setting stored as a list at `keyPath`: one source's values replace the
    /// list that earlier sources left.
    static func repeated<Value>(
        _ name: String, valueName: String, _ format: ValueFormat<Value>,
        _ keyPath: WritableKeyPath<Root, [Value]> & Sendable, help: String
    ) -> Setting {
        Setting(
            name: name, valueName: valueName, help: help, kind: format.kind, isRepeatable: true,
            expectation: format.expectation, allowedValues: format.allowedValues,
            assign: { (root: inout Root, texts: [String]) throws(ValueRejection) in
                var values: [Value] = []
                for (index, text) in texts.enumerated() {
                    guard let value = format.parse(text) else {
                        throw ValueRejection(
                            index: index, expectation: format.expectation, problem: format.problem(text))
                    }
                    values.append(value)
                }
                root[keyPath: keyPath] = values
            },
            describe: { root in root[keyPath: keyPath].map(format.format) }
        )
    }
}

/// A strict RFC 8259 JSON reader for configuration files.
///
/// Ours rather than `JSONDecoder` because a configuration file needs what a decoder throws
/// away: the exact text of numbers, the order of keys, duplicate keys, and an error position.
/// It never traps: nesting is capped, so hostile input cannot exhaust the stack.
struct JSONReader {
    /// Why the input is not JSON, and where: "unexpected character 'x' at line 2, column 7".
    struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        var reason: String
        var line: Int
        var column: Int
        var description: String { "\(reason) at line \(line), column \(column)" }
    }

    /// Configuration files are flat; anything deeper than this is a mistake or an attack.
    static let maximumDepth = 32

    private let bytes: [UInt8]
    private var position = 0
    private var depth = 0

    /// Parses one JSON value that fills the whole input (surrounding whitespace and a leading
    /// UTF-8 byte-order mark allowed).
    static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONValue {
        var reader = JSONReader(bytes: bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reader.position = 3 }
        let value = try reader.readValue()
        reader.skipWhitespace()
        if reader.position < bytes.count { throw reader.unexpected() }
        return value
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    // MARK: Values

    private mutating func readValue() throws(SyntaxError) -> JSONValue {
        skipWhitespace()
        guard let byte = peek() else { throw failure("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try readObject()
        case UInt8(ascii: "["): return try readArray()
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"): try readLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try readLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try readLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try readNumber())
        default: throw unexpected()
        }
    }

    private mutating func readObject() throws(SyntaxError) -> JSONValue {
        try enterContainer()
        position += 1  // {
        var members: [JSONValue.Member] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw unexpectedOrEnd() }
            let key = try readString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            members.append(JSONValue.Member(key: key, value: try readValue()))
            skipWhitespace()
            if try endOfContainer(closing: UInt8(ascii: "}")) { return .object(members) }
        }
    }

    private mutating func readArray() throws(SyntaxError) -> JSONValue {
        try enterContainer()
        position += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(items)
        }
        while true {
            items.append(try readValue())
            skipWhitespace()
            if try endOfContainer(closing: UInt8(ascii: "]")) { return .array(items) }
        }
    }

    private mutating func enterContainer() throws(SyntaxError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw failure("nesting deeper than \(Self.maximumDepth) levels")
        }
    }

    /// After a member or item: consumes `,` (false: more follow) or the closing bracket (true).
    private mutating func endOfContainer(closing: UInt8) throws(SyntaxError) -> Bool {
        switch peek() {
        case UInt8(ascii: ","):
            position += 1
            return false
        case closing:
            position += 1
            depth -= 1
            return true
        default:
            throw unexpectedOrEnd()
        }
    }

    private mutating func readLiteral(_ word: String) throws(SyntaxError) {
        for expected in word.utf8 {
            guard peek() == expected else { throw unexpectedOrEnd() }
            position += 1
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as written.
    private mutating func readNumber() throws(SyntaxError) -> String {
        let start = position
        if peek() == UInt8(ascii: "-") { position += 1 }
        if peek() == UInt8(ascii: "0") {
            position += 1
        } else {
            try readDigits()
        }
        if peek() == UInt8(ascii: ".") {
            position += 1
            try readDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            try readDigits()
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func readDigits() throws(SyntaxError) {
        guard let byte = peek(), isDigit(byte) else { throw unexpectedOrEnd() }
        while let byte = peek(), isDigit(byte) { position += 1 }
    }

    // MARK: Strings

    private mutating func readString() throws(SyntaxError) -> String {
        position += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let byte = peek() else { throw failure("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                guard let string = String(validating: utf8, as: UTF8.self) else {
                    throw failure("invalid UTF-8 in a string")
                }
                return string
            case UInt8(ascii: "\\"):
                position += 1
                try readEscape(into: &utf8)
            case 0x00..<0x20:
                throw failure("unescaped control character in a string")
            default:
                utf8.append(byte)
                position += 1
            }
        }
    }

    private mutating func readEscape(into utf8: inout [UInt8]) throws(SyntaxError) {
        guard let byte = peek() else { throw failure("unterminated string") }
        position += 1
        let simple: UInt8? = switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): byte
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
        if let simple {
            utf8.append(simple)
            return
        }
        guard byte == UInt8(ascii: "u") else {
            position -= 1
            throw failure("invalid escape in a string")
        }
        var scalarValue = try readHexQuad()
        if (0xD800..<0xDC00).contains(scalarValue) {
            // A high surrogate must be followed by an escaped low surrogate.
            guard peek() == UInt8(ascii: "\\"), peek(offset: 1) == UInt8(ascii: "u") else {
                throw failure("unpaired surrogate in a string")
            }
            position += 2
            let low = try readHexQuad()
            guard (0xDC00..<0xE000).contains(low) else {
                throw failure("unpaired surrogate in a string")
            }
            scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(scalarValue) else {
            throw failure("unpaired surrogate in a string")
        }
        utf8.append(contentsOf: String(Character(scalar)).utf8)
    }

    private mutating func readHexQuad() throws(SyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek(), let digit = hexValue(byte) else {
                throw failure("invalid \\u escape in a string")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    // MARK: Bytes and errors

    private func peek(offset: Int = 0) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = peek(),
              byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n")
                || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t") {
            position += 1
        }
    }

    private mutating func expect(_ expected: UInt8) throws(SyntaxError) {
        guard peek() == expected else { throw unexpectedOrEnd() }
        position += 1
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private func unexpectedOrEnd() -> SyntaxError {
        peek() == nil ? failure("unexpected end of input") : unexpected()
    }

    /// "unexpected character 'x'", with non-printable bytes shown in hex.
    private func unexpected() -> SyntaxError {
        guard let byte = peek() else { return failure("unexpected end of input") }
        let shown = (0x21..<0x7F).contains(byte)
            ? "character '\(Character(Unicode.Scalar(byte)))'"
            : "byte 0x\(hex(byte))"
        return failure("unexpected \(shown)")
    }

    private func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }

    /// An error at the current position, with a 1-based line and column (in bytes).
    private func failure(_ reason: String) -> SyntaxError {
        var line = 1
        var column = 1
        for byte in bytes[..<min(position, bytes.count)] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return SyntaxError(reason: reason, line: line, column: column)
    }
}

@testable import SwiftEcho
import Testing

@Suite("JSON reader")
struct JSONReaderTests {
    private func read(_ text: String) throws(JSONReader.SyntaxError) -> JSONValue {
        try JSONReader.parse(Array(text.utf8))
    }

    private func reason(_ text: String) -> String? {
        do {
            _ = try read(text)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func valuesKeepTheirTextAndOrder() throws {
        let value = try read(#" {"b": 1.50, "a": [true, false, null, -0, 1e3, "x"], "c": {}} "#)
        #expect(value == .object([
            .init(key: "b", value: .number("1.50")),
            .init(key: "a", value: .array([.bool(true), .bool(false), .null, .number("-0"), .number("1e3"), .string("x")])),
            .init(key: "c", value: .object([])),
        ]))
    }

    @Test func stringEscapes() throws {
        #expect(try read(#""\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \ud83d\ude00""#) == .string("\" \\ / \u{08} \u{0C} \n \r \t A é 😀"))
        #expect(try read("\"héllo 🦉\"") == .string("héllo 🦉"))
    }

    @Test(arguments: [
        (#""\ud83d""#, "unpaired surrogate in a string"),
        (#""\ude00""#, "unpaired surrogate in a string"),
        (#""\ud83d\u0041""#, "unpaired surrogate in a string"),
        (#""\u12""#, #"invalid \u escape in a string"#),
        (#""\x""#, "invalid escape in a string"),
        ("\"a\nb\"", "unescaped control character in a string"),
        ("\"abc", "unterminated string"),
        ("01", "unexpected character '1'"),
        ("-", "unexpected end of input"),
        ("1.", "unexpected end of input"),
        (".5", "unexpected character '.'"),
        ("1e", "unexpected end of input"),
        ("+1", "unexpected character '+'"),
        ("tru", "unexpected end of input"),
        ("nul1", "unexpected character '1'"),
        ("[1 2]", "unexpected character '2'"),
        ("{\"a\" 1}", "unexpected character '1'"),
        ("{1: 2}", "unexpected character '1'"),
        ("[1,]", "unexpected character ']'"),
        ("1 2", "unexpected character '2'"),
        ("\u{00}", "unexpected byte 0x00"),
    ])
    func syntaxErrors(text: String, expected: String) {
        #expect(reason(text) == expected)
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: JSONReader.SyntaxError.self) {
            try JSONReader.parse([UInt8(ascii: "\""), 0xFF, 0xFE, UInt8(ascii: "\"")])
        }
    }

    @Test func nestingIsCapped() throws {
        _ = try read(String(repeating: "[", count: 32) + String(repeating: "]", count: 32))
        #expect(reason(String(repeating: "[", count: 33) + String(repeating: "]", count: 33))
            == "nesting deeper than 32 levels")
        // Deep enough to overflow the stack of a reader without a cap.
        #expect(reason(String(repeating: "[", count: 1_000_000)) == "nesting deeper than 32 levels")
    }

    @Test func errorsGiveLineAndColumn() {
        #expect(throws: JSONReader.SyntaxError(reason: "unexpected character 'x'", line: 3, column: 3)) {
            try JSONReader.parse(Array("{\n\n  x".utf8))
        }
    }
}

import Testing
import cecho
import cecho_internal

/// The C framer, fed as the connection feeds it: bytes arrive in pieces, an incomplete
/// message waits in a buffer, and a line search resumes where it stopped.
@Suite struct FramingTests {
    /// What the framer found: messages (payload, terminator) and whether it hit a message too
    /// large, in order.
    struct Found: Equatable, CustomStringConvertible {
        var messages: [([UInt8], Int32)] = []
        var tooLarge = false
        static func == (a: Found, b: Found) -> Bool {
            a.tooLarge == b.tooLarge && a.messages.count == b.messages.count
                && zip(a.messages, b.messages).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        }
        var description: String { "\(messages.map { (String(decoding: $0.0, as: UTF8.self), $0.1) }) tooLarge: \(tooLarge)" }
    }

    /// Feeds `chunks` one after another, keeping what is incomplete, like the connection does.
    static func frame(_ chunks: [[UInt8]], mode: ce_framing, max: Int = 1 << 20) -> Found {
        var found = Found()
        var pending: [UInt8] = []
        var scanned = 0
        for chunk in chunks {
            pending += chunk
            while true {
                var frame = ce_frame()
                let status = pending.withUnsafeBytes { raw in
                    ce_frame_next(mode, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count, max, &scanned, &frame)
                }
                if status == CE_FRAME_TOO_LARGE {
                    found.tooLarge = true
                    return found
                }
                guard status == CE_FRAME_MESSAGE else { break }
                found.messages.append((Array(pending[frame.offset..<frame.offset + frame.length]), frame.terminator))
                pending.removeFirst(frame.consumed)
                scanned = 0
            }
        }
        return found
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    static func lengthFrame(_ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] + payload
    }

    @Test func linesEndAtLFOrCRLFAndRememberWhich() {
        let found = Self.frame([Self.bytes("one\ntwo\r\n\nthree\r\n")], mode: CE_FRAMING_LINE)
        #expect(found.messages.map(\.0) == [Self.bytes("one"), Self.bytes("two"), [], Self.bytes("three")])
        #expect(found.messages.map(\.1) == [CE_TERMINATOR_LF, CE_TERMINATOR_CRLF, CE_TERMINATOR_LF, CE_TERMINATOR_CRLF])
    }

    @Test func aCarriageReturnInsideALineIsPayload() {
        let found = Self.frame([Self.bytes("a\rb\n")], mode: CE_FRAMING_LINE)
        #expect(found.messages.map(\.0) == [Self.bytes("a\rb")])
    }

    @Test func anIncompleteLineWaits() {
        #expect(Self.frame([Self.bytes("no end")], mode: CE_FRAMING_LINE).messages.isEmpty)
    }

    @Test func lengthFramesIncludingEmptyOnes() {
        let stream = Self.lengthFrame(Self.bytes("hello")) + Self.lengthFrame([]) + Self.lengthFrame([0, 1, 0])
        let found = Self.frame([stream], mode: CE_FRAMING_LENGTH)
        #expect(found.messages.map(\.0) == [Self.bytes("hello"), [], [0, 1, 0]])
    }

    @Test func rawIsEachChunkAsItArrives() {
        let found = Self.frame([Self.bytes("ab"), Self.bytes("c\n")], mode: CE_FRAMING_RAW)
        #expect(found.messages.map(\.0) == [Self.bytes("ab"), Self.bytes("c\n")])
    }

    /// The same messages whatever the split: every single cut point, for every mode.
    @Test(arguments: [CE_FRAMING_LINE, CE_FRAMING_LENGTH])
    func splittingAnywhereFindsTheSameMessages(mode: ce_framing) {
        let payloads = [Self.bytes("alpha"), [], Self.bytes("b\r"), Payload.random(count: 300, seed: 9).filter { $0 != 10 }, Self.bytes("zz")]
        let stream: [UInt8] = mode == CE_FRAMING_LINE
            ? payloads.flatMap { $0 + [10] } : payloads.flatMap { Self.lengthFrame($0) }
        let whole = Self.frame([stream], mode: mode)
        #expect(whole.messages.count == payloads.count)
        for cut in 0...stream.count {
            let split = Self.frame([Array(stream[..<cut]), Array(stream[cut...])], mode: mode)
            #expect(split == whole, "cut at \(cut)")
        }
        let byteByByte = Self.frame(stream.map { [$0] }, mode: mode)
        #expect(byteByByte == whole)
    }

    @Test func aLineOfExactlyMaxMessageBytesIsAMessage() {
        let line = [UInt8](repeating: 65, count: 10)
        #expect(Self.frame([line + [10]], mode: CE_FRAMING_LINE, max: 10).messages.map(\.0) == [line])
        #expect(Self.frame([line + [13, 10]], mode: CE_FRAMING_LINE, max: 10).messages.map(\.0) == [line])
        #expect(!Self.frame([line], mode: CE_FRAMING_LINE, max: 10).tooLarge, "10 bytes may still get their newline")
        #expect(!Self.frame([line + [13]], mode: CE_FRAMING_LINE, max: 10).tooLarge, "the CR of a CRLF may arrive first")
    }

    @Test func aLineOneByteOverIsTooLargeAsSoonAsItArrives() {
        let line = [UInt8](repeating: 65, count: 11)
        #expect(Self.frame([line], mode: CE_FRAMING_LINE, max: 10).tooLarge, "no need to wait for the newline")
        #expect(Self.frame([line + [10]], mode: CE_FRAMING_LINE, max: 10).tooLarge)
        let earlier = Self.frame([Self.bytes("ok\n") + line], mode: CE_FRAMING_LINE, max: 10)
        #expect(earlier.messages.map(\.0) == [Self.bytes("ok")] && earlier.tooLarge, "messages before it still count")
    }

    @Test func lengthFramesAtAndOverTheMaximum() {
        let ten = [UInt8](repeating: 7, count: 10)
        #expect(Self.frame([Self.lengthFrame(ten)], mode: CE_FRAMING_LENGTH, max: 10).messages.map(\.0) == [ten])
        #expect(Self.frame([Array(Self.lengthFrame(ten + [7]).prefix(4))], mode: CE_FRAMING_LENGTH, max: 10).tooLarge,
                "the header alone tells")
    }

    @Test func anIncompleteHeaderWaits() {
        #expect(Self.frame([[0, 0, 1]], mode: CE_FRAMING_LENGTH).messages.isEmpty)
        #expect(!Self.frame([[0, 0, 1]], mode: CE_FRAMING_LENGTH).tooLarge)
    }
}

/// Test payloads: pseudo-random bytes of every value, with runs of NUL, reproducible from a
/// seed so a failure can be replayed.
enum Payload {
    static func random(count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix(seed: seed)
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < count {
                let word = generator.next()
                if word % 61 == 0 {  // now and then a run of NUL bytes (already zero)
                    offset += Int(word >> 58) + 1
                    continue
                }
                let take = min(8, count - offset)
                withUnsafeBytes(of: word) { buffer.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: take) }
                offset += take
            }
        }
        return bytes
    }
}

/// SplitMix64: a small reproducible generator for tests that want variety without flakiness.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Where `actual` first differs from `expected`, or nil when they are the same bytes. Tests
/// compare payloads with this instead of `#expect(a == b)`: on a failed `==` Swift Testing
/// diffs the two arrays, which for megabytes takes longer than any test may.
func mismatch(_ actual: [UInt8], _ expected: [UInt8]) -> String? {
    if actual == expected { return nil }
    let common = min(actual.count, expected.count)
    let index = actual.withUnsafeBufferPointer { a in
        expected.withUnsafeBufferPointer { e in (0..<common).first { a[$0] != e[$0] } ?? common }
    }
    return "byte \(index) differs (\(actual.count) bytes, \(expected.count) expected)"
}

/// The text of a NUL-terminated C buffer.
func string(fromCString buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

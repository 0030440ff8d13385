/// Test payloads: pseudo-random bytes of every value, with runs of NUL, reproducible from a
/// seed so a failure can be replayed.
enum Payload {
    static func random(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var bytes = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            // splitmix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            if z % 61 == 0 {  // now and then a run of NUL bytes
                let run = min(Int(z >> 58) + 1, count - i)
                i += run  // already zero
                continue
            }
            for shift in stride(from: 0, to: 64, by: 8) where i < count {
                bytes[i] = UInt8(truncatingIfNeeded: z >> UInt64(shift))
                i += 1
            }
        }
        return bytes
    }
}

/// The text of a NUL-terminated C buffer.
func string(fromCString buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Where `actual` first differs from `expected`, or nil when they are the same bytes. Tests
/// compare payloads with this instead of `==`: on a failed `==` Swift Testing diffs the two
/// arrays, which for megabytes takes longer than any test may.
func mismatch(_ actual: [UInt8], _ expected: [UInt8]) -> String? {
    if let index = (0..<min(actual.count, expected.count)).first(where: { actual[$0] != expected[$0] }) {
        return "byte \(index) differs (\(actual.count) bytes, \(expected.count) expected)"
    }
    return actual.count == expected.count ? nil : "\(actual.count) bytes, \(expected.count) expected"
}

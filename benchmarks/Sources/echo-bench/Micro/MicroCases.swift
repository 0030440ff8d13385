import SwiftEcho
import cecho
import cecho_internal

/// The hot pieces of a message's way through SwiftEcho, each timed alone.
enum MicroCases {
    static func all() -> [MicroBenchmark] {
        framing() + buffers() + replies() + hooks()
    }

    // MARK: Framing: how fast each mode finds messages in a 64 KiB read.

    static func framing() -> [MicroBenchmark] {
        [
            // Raw framing scans nothing: a read is a message. This row is the call's own cost.
            scan("framing raw, 64 B reads", .raw, messages(count: 1, size: 64, framing: .raw)),
            scan("framing line, 64 B lines", .line, messages(count: 1024, size: 63, framing: .line)),
            scan("framing line, 1 KiB lines", .line, messages(count: 64, size: 1023, framing: .line)),
            scan("framing length, 1 KiB frames", .length, messages(count: 64, size: 1020, framing: .length)),
        ]
    }

    /// `count` messages of `size` payload bytes each, framed; payload bytes avoid newlines.
    static func messages(count: Int, size: Int, framing: Workload.Framing) -> [UInt8] {
        var bytes: [UInt8] = []
        var state: UInt32 = 2_463_534_242
        for _ in 0..<count {
            if framing == .length {
                bytes += withUnsafeBytes(of: UInt32(size).bigEndian, Array.init)
            }
            for _ in 0..<size {
                state ^= state << 13; state ^= state >> 17; state ^= state << 5
                bytes.append(UInt8(truncatingIfNeeded: state) | 0x20) // never \n or \r
            }
            if framing == .line { bytes.append(UInt8(ascii: "\n")) }
        }
        return bytes
    }

    static func scan(_ name: String, _ framing: Workload.Framing, _ input: [UInt8]) -> MicroBenchmark {
        let mode: ce_framing = framing == .raw ? CE_FRAMING_RAW : framing == .line ? CE_FRAMING_LINE : CE_FRAMING_LENGTH
        return MicroBenchmark(name: name, bytesPerOperation: input.count) { iterations in
            input.withUnsafeBytes { raw in
                let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
                var found = 0
                for _ in 0..<iterations {
                    var used = 0
                    var scanned = 0
                    var frame = ce_frame()
                    while used < raw.count,
                          ce_frame_next(mode, base + used, raw.count - used, 1 << 20, &scanned, &frame) == CE_FRAME_MESSAGE {
                        scanned = 0
                        used += frame.consumed
                        found += 1
                    }
                }
                consume(found)
            }
        }
    }

    // MARK: Buffers and replies

    static func buffers() -> [MicroBenchmark] {
        [64, 1024].map { size in
            let chunk = [UInt8](repeating: 0x61, count: size)
            return MicroBenchmark(name: "buffer append+consume, \(ByteCount.format(size))") { iterations in
                var buffer = ce_buf()
                chunk.withUnsafeBytes { bytes in
                    for _ in 0..<iterations {
                        ce_buf_append(&buffer, bytes.baseAddress, bytes.count, 1 << 20)
                        ce_buf_consume(&buffer, bytes.count)
                    }
                }
                ce_buf_free(&buffer)
            }
        }
    }

    static func replies() -> [MicroBenchmark] {
        [64, 1024].map { size in
            let chunk = [UInt8](repeating: 0x61, count: size)
            return MicroBenchmark(name: "reply write, \(ByteCount.format(size))") { iterations in
                let reply = ce_reply_create(1 << 20)
                var length = 0
                chunk.withUnsafeBytes { bytes in
                    for _ in 0..<iterations {
                        ce_reply_write(reply, bytes.baseAddress, bytes.count)
                        consume(ce_reply_take(reply, &length))
                    }
                }
                ce_reply_destroy(reply)
            }
        }
    }

    // MARK: Swift hooks through the C bridge

    static func hooks() -> [MicroBenchmark] {
        let cases: [(String, Hook, Int)] = [
            ("hook call, closure writing the message, 64 B", Hook { message, reply in reply.write(message) }, 64),
            ("hook call, upper, 64 B", Hook(.upper), 64),
            ("hook call, upper, 1 KiB", Hook(.upper), 1024),
            ("hook call, handler with state, 64 B", .handler { _ in CountingHandler() }, 64),
        ]
        return cases.map { name, hook, size in
            let message = [UInt8](repeating: UInt8(ascii: "e"), count: size)
            return MicroBenchmark(name: name) { iterations in
                guard let probe = HookProbe(hook) else { return }
                message.withUnsafeBytes { bytes in
                    for _ in 0..<iterations { consume(probe.call(bytes)) }
                }
            }
        }
    }
}

/// A per-connection handler that counts its messages and echoes them.
private final class CountingHandler: ConnectionHandler {
    var messages = 0

    func messageReceived(_ message: borrowing Message, reply: inout Reply) throws {
        messages += 1
        reply.write(message)
    }
}

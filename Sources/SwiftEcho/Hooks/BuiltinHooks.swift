// The daemon's built-in hooks, written with the public hook API: its first users and its
// examples. The transforms work byte for byte and change ASCII letters only, so lengths never
// change and UTF-8 text stays valid.

extension Hook {
    /// The hook the daemon's `--hook` names.
    public init(_ builtin: BuiltinHook) {
        switch builtin {
        case .echo: self = .echo
        case .upper: self = .mapping(Uppercase.self)
        case .lower: self = .mapping(Lowercase.self)
        case .rot13: self = .mapping(Rot13.self)
        case .asyncUpper: self = .async { message in Hook.mapped(message.bytes, Uppercase.self) }
        case .reverse: self = .reversing
        case .prefix(let text): self = .prefixing(text)
        case .failEvery(let n): self = .failing(every: n)
        case .delay(let milliseconds): self = .delaying(milliseconds)
        }
    }

    /// Each byte of the message through `Map`, written straight into the reply. Generic over
    /// the mapping (not a closure) so it is inlined, and over typed pointers, which the
    /// compiler vectorises: about 25 times faster than a loop appending byte by byte.
    static func mapping<Map: ByteMapping>(_: Map.Type) -> Hook {
        Hook { message, reply in
            reply.write(capacity: message.count) { out in
                message.withUnsafeBytes { input in
                    out.withUnsafeMutableBytes { output, initialized in
                        transform(input, into: output, at: &initialized) { source, count, target in
                            for i in 0..<count { target[i] = Map.map(source[i]) }
                        }
                    }
                }
            }
        }
    }

    /// Each byte of `bytes` through `Map`, into a new array, in the loop form that vectorises.
    static func mapped<Map: ByteMapping>(_ bytes: [UInt8], _: Map.Type) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes.count) { output, initialized in
            bytes.withUnsafeBytes { input in
                transform(input, into: UnsafeMutableRawBufferPointer(output), at: &initialized) { source, count, target in
                    for i in 0..<count { target[i] = Map.map(source[i]) }
                }
            }
        }
    }

    static let reversing = Hook { message, reply in
        reply.write(capacity: message.count) { out in
            message.withUnsafeBytes { input in
                out.withUnsafeMutableBytes { output, initialized in
                    transform(input, into: output, at: &initialized) { source, count, target in
                        for i in 0..<count { target[i] = source[count - 1 - i] }
                    }
                }
            }
        }
    }

    /// Runs `body` over `input` and the free part of `output` as typed pointers (the form that
    /// vectorises), then counts `input.count` bytes as written.
    @inline(__always)
    private static func transform(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, at initialized: inout Int,
        _ body: (UnsafePointer<UInt8>, Int, UnsafeMutablePointer<UInt8>) -> Void
    ) {
        guard let source = input.baseAddress, let target = output.baseAddress, !input.isEmpty else { return }
        precondition(output.count - initialized >= input.count, "the reply was reserved for the whole message")
        body(source.assumingMemoryBound(to: UInt8.self), input.count,
             (target + initialized).assumingMemoryBound(to: UInt8.self))
        initialized += input.count
    }

    static func prefixing(_ text: String) -> Hook {
        let prefix = Array(text.utf8)
        return Hook { message, reply in
            reply.write(prefix)
            reply.write(message)
        }
    }
}

extension Hook {
    /// Echo, but throw on every `n`th message of each connection: a hook failure on demand,
    /// with the count kept per connection so one connection's failures never shift another's.
    static func failing(every n: Int) -> Hook {
        precondition(n >= 1, "the configuration accepts fail-every:N with N >= 1 only")
        return .handler { _ in FailingEvery(n: n) }
    }
}

extension Hook {
    /// Echo each message after `milliseconds` (a random value in the range for each message),
    /// awaiting a timer instead of holding the loop: a thousand connections delayed by 200 ms
    /// are all answered after about 200 ms. `delay:0` still suspends once, so it measures
    /// what a suspending async hook costs.
    static func delaying(_ milliseconds: ClosedRange<Int>) -> Hook {
        .async { message in
            // A fixed delay draws no random number: each costs a getrandom() system call.
            let delay = milliseconds.count == 1 ? milliseconds.lowerBound : Int.random(in: milliseconds)
            if delay == 0 {
                await Task.yield()
            } else {
                try await Task.sleep(for: .milliseconds(delay))
            }
            return message.bytes
        }
    }
}

/// The error `fail-every:N` throws; the server logs it with the connection.
struct InjectedHookFailure: Error, CustomStringConvertible {
    /// The message's number on its connection, from 1.
    let message: Int

    var description: String { "injected failure at message \(message) (fail-every)" }
}

/// One connection's state for `fail-every:N`: how many messages it has seen.
final class FailingEvery: ConnectionHandler {
    let n: Int
    var seen = 0

    init(n: Int) {
        self.n = n
    }

    func messageReceived(_ message: borrowing Message, reply: inout Reply) throws {
        seen += 1
        if seen % n == 0 { throw InjectedHookFailure(message: seen) }
        reply.write(message)
    }
}

/// A byte-for-byte transform.
protocol ByteMapping {
    static func map(_ byte: UInt8) -> UInt8
}

enum Uppercase: ByteMapping {
    static func map(_ byte: UInt8) -> UInt8 { byte &- UInt8(ascii: "a") < 26 ? byte &- 32 : byte }
}

enum Lowercase: ByteMapping {
    static func map(_ byte: UInt8) -> UInt8 { byte &- UInt8(ascii: "A") < 26 ? byte &+ 32 : byte }
}

enum Rot13: ByteMapping {
    static func map(_ byte: UInt8) -> UInt8 {
        let lower = byte | 0x20  // ASCII letters differ from their lower case in this bit only
        guard lower &- UInt8(ascii: "a") < 26 else { return byte }
        return lower &- UInt8(ascii: "a") < 13 ? byte &+ 13 : byte &- 13
    }
}

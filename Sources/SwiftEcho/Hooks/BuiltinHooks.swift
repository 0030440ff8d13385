// The daemon's built-in hooks, written with the public hook API: its first users and its
// examples. The transforms work byte for byte and change ASCII letters only, so lengths never
// change and UTF-8 text stays valid.

extension Hook {
    /// The hook the daemon's `--hook` names.
    public init(_ builtin: BuiltinHook) {
        switch builtin {
        case .echo: self = .echo
        case .upper: self = .mappingBytes(Self.uppercased)
        case .lower: self = .mappingBytes(Self.lowercased)
        case .rot13: self = .mappingBytes(Self.rotated13)
        case .reverse: self = .reversing
        case .prefix(let text): self = .prefixing(text)
        }
    }

    /// Each byte of the message through `map`, written in place.
    static func mappingBytes(_ map: @escaping @Sendable (UInt8) -> UInt8) -> Hook {
        Hook { message, reply in
            reply.write(capacity: message.count) { out in
                message.withUnsafeBytes { bytes in
                    for byte in bytes { out.append(map(byte)) }
                }
            }
        }
    }

    static let reversing = Hook { message, reply in
        reply.write(capacity: message.count) { out in
            message.withUnsafeBytes { bytes in
                for byte in bytes.reversed() { out.append(byte) }
            }
        }
    }

    static func prefixing(_ text: String) -> Hook {
        let prefix = Array(text.utf8)
        return Hook { message, reply in
            reply.write(prefix)
            reply.write(message)
        }
    }

    static func uppercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    static func rotated13(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): (byte - UInt8(ascii: "a") + 13) % 26 + UInt8(ascii: "a")
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): (byte - UInt8(ascii: "A") + 13) % 26 + UInt8(ascii: "A")
        default: byte
        }
    }
}

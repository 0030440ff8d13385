/// One message, borrowed from the connection's input buffer for the length of a hook call.
///
/// Nothing is copied: the bytes are where the server read them. The type is non-copyable and
/// hooks receive it `borrowing`, so the compiler keeps it from escaping the call; take a copy
/// (``copyBytes()`` or ``text``) to keep anything.
public struct Message: ~Copyable {
    private let base: UnsafeRawBufferPointer

    init(_ base: UnsafeRawBufferPointer) {
        self.base = base
    }

    /// Payload bytes (the line terminator or length header is not part of the message).
    public var count: Int { base.count }

    public var isEmpty: Bool { base.isEmpty }

    /// The byte at `offset`, which must be below `count`.
    public subscript(offset: Int) -> UInt8 {
        precondition(offset >= 0 && offset < base.count, "offset \(offset) is outside the message")
        return base[offset]
    }

    /// The bytes as a span, without a copy, for the length of `body`.
    public func withBytes<Result, Failure: Error>(_ body: (RawSpan) throws(Failure) -> Result) throws(Failure) -> Result {
        try body(base.bytes)
    }

    /// The bytes as a raw buffer, without a copy, for the length of `body` (which must not
    /// keep the pointer).
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(base)
    }

    /// A copy of the bytes, to keep after the call.
    public func copyBytes() -> [UInt8] { Array(base) }

    /// The bytes decoded as UTF-8 (a copy); invalid sequences become U+FFFD.
    public var text: String { String(decoding: base, as: UTF8.self) }

    /// Whether the message begins with these bytes (`message.starts(with: "GET ".utf8)`).
    public func starts(with prefix: some Sequence<UInt8>) -> Bool {
        base.starts(with: prefix)
    }
}

/// The start of an HTTP/1.x request as a small server needs it: the method and the path of the
/// request line (RFC 9112). Header fields are read past, not kept: the endpoints answer the
/// same whatever they say, and every response closes its connection.
struct HTTPRequestHead: Sendable, Equatable {
    var method: String
    /// The target without its query (`/metrics` for `/metrics?x=1`).
    var path: String
    /// `HTTP/1.0` or `HTTP/1.1`.
    var version: String

    enum Parse: Equatable {
        /// No blank line yet, and still within the limit: wait for more bytes.
        case incomplete
        case complete(HTTPRequestHead)
        /// Answer with this status and close.
        case invalid(HTTPStatus)
    }

    /// Reads the request head at the start of `bytes`: the request line and header fields up to
    /// the blank line (CRLF, or a bare LF, which RFC 9112 lets a server accept). A head longer
    /// than `limit` bytes is refused (431) as soon as that many arrive without its end.
    static func parse(_ bytes: [UInt8], limit: Int) -> Parse {
        let start = bytes.firstIndex { $0 != .cr && $0 != .lf } ?? bytes.count  // empty lines first
        guard let end = endOfHead(bytes, from: start) else {
            return bytes.count > limit ? .invalid(.headTooLarge) : .incomplete
        }
        if end > limit { return .invalid(.headTooLarge) }
        guard let lineEnd = bytes[start..<end].firstIndex(of: .lf) else { return .invalid(.badRequest) }
        var line = bytes[start..<lineEnd]
        if line.last == .cr { line = line.dropLast() }
        let parts = line.split(separator: .space, omittingEmptySubsequences: false)
        guard parts.count == 3, let method = token(parts[0]), let target = visible(parts[1]),
              let version = visible(parts[2])
        else { return .invalid(.badRequest) }
        guard version.hasPrefix("HTTP/") else { return .invalid(.badRequest) }
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { return .invalid(.versionNotSupported) }
        guard target.hasPrefix("/") || target == "*" else { return .invalid(.badRequest) }
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return .complete(HTTPRequestHead(method: method, path: String(path), version: version))
    }

    /// The index just past the blank line (empty, or a lone CR) that ends the head whose
    /// request line begins at `start`, or nil.
    private static func endOfHead(_ bytes: [UInt8], from start: Int) -> Int? {
        var lineStart = start
        for index in start..<bytes.count where bytes[index] == .lf {
            let length = index - lineStart
            if lineStart > start && (length == 0 || (length == 1 && bytes[lineStart] == .cr)) { return index + 1 }
            lineStart = index + 1
        }
        return nil
    }

    /// A method: one or more token characters (RFC 9110).
    private static func token(_ bytes: ArraySlice<UInt8>) -> String? {
        let tchar = Set("!#$%&'*+-.^_`|~".utf8)
        guard !bytes.isEmpty, bytes.allSatisfy({ isAlphanumeric($0) || tchar.contains($0) }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Visible ASCII, no spaces or controls.
    private static func visible(_ bytes: ArraySlice<UInt8>) -> String? {
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte)
    }
}

extension UInt8 {
    fileprivate static let cr = UInt8(ascii: "\r")
    fileprivate static let lf = UInt8(ascii: "\n")
    fileprivate static let space = UInt8(ascii: " ")
}

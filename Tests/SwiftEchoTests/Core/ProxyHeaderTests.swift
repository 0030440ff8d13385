import Glibc
import Testing
import cecho_internal

/// The PROXY protocol parser (proxy.c), v1 and v2, over bytes: what a whole header says, that a
/// prefix waits, and that bad input is refused as early as the bytes prove it.
@Suite struct ProxyHeaderTests {
    enum Outcome: Equatable {
        case incomplete
        case header(length: Int, version: Int32, source: String?, destination: String?)
        case invalid(String)
    }

    static func parse(_ bytes: [UInt8]) -> Outcome {
        var header = ce_proxy_header()
        var reason: UnsafePointer<CChar>?
        let status = bytes.withUnsafeBytes { ce_proxy_parse($0.baseAddress, $0.count, &header, &reason) }
        switch status {
        case CE_PROXY_INCOMPLETE: return .incomplete
        case CE_PROXY_HEADER:
            let has = header.has_address != 0
            return .header(length: header.length, version: header.version,
                           source: has ? endpoint(&header.source) : nil,
                           destination: has ? endpoint(&header.destination) : nil)
        default: return .invalid(String(cString: reason!))
        }
    }

    static func parse(_ text: String) -> Outcome { parse(Array(text.utf8)) }

    /// The text of a NUL-terminated buffer.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "1.2.3.4:5" or "[::1]:5".
    static func endpoint(_ storage: inout sockaddr_storage) -> String {
        var host = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> String in
                if sa.pointee.sa_family == sa_family_t(AF_INET) {
                    return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { in4 in
                        var address = in4.pointee.sin_addr
                        inet_ntop(AF_INET, &address, &host, socklen_t(host.count))
                        return "\(text(host)):\(UInt16(bigEndian: in4.pointee.sin_port))"
                    }
                }
                return sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { in6 in
                    var address = in6.pointee.sin6_addr
                    inet_ntop(AF_INET6, &address, &host, socklen_t(host.count))
                    return "[\(text(host))]:\(UInt16(bigEndian: in6.pointee.sin6_port))"
                }
            }
        }
    }

    static let signature: [UInt8] = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]

    /// A v2 header: command (0 LOCAL, 1 PROXY), family and transport byte, then `body`.
    static func v2(command: UInt8 = 1, family: UInt8 = 0x11, _ body: [UInt8]) -> [UInt8] {
        signature + [0x20 | command, family, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
    }

    static let inet4Body: [UInt8] = [192, 0, 2, 7, 127, 0, 0, 1, 0xd4, 0x31, 0x27, 0x10]  // :54321 → :10000

    @Test func v1NamesTheClientOfBothFamilies() {
        #expect(Self.parse("PROXY TCP4 192.0.2.7 127.0.0.1 54321 10000\r\nhello")
            == .header(length: 44, version: 1, source: "192.0.2.7:54321", destination: "127.0.0.1:10000"))
        #expect(Self.parse("PROXY TCP6 2001:db8::7 ::1 65535 0\r\n")
            == .header(length: 36, version: 1, source: "[2001:db8::7]:65535", destination: "[::1]:0"))
    }

    @Test func v1UnknownKeepsTheConnectionsOwnAddress() {
        #expect(Self.parse("PROXY UNKNOWN\r\n") == .header(length: 15, version: 1, source: nil, destination: nil))
        #expect(Self.parse("PROXY UNKNOWN anything at all\r\nx")
            == .header(length: 31, version: 1, source: nil, destination: nil))
    }

    @Test func v2NamesTheClientAndSkipsTLVs() {
        let tlvs: [UInt8] = [0x04, 0, 2, 0, 0, 0xe0, 0, 3, 1, 2, 3]  // NOOP, then a custom one
        #expect(Self.parse(Self.v2(Self.inet4Body + tlvs) + Array("data".utf8))
            == .header(length: 16 + 12 + 11, version: 2, source: "192.0.2.7:54321", destination: "127.0.0.1:10000"))
        let inet6 = [UInt8](repeating: 0, count: 15) + [1] + [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [9, 0, 80, 1, 187]
        #expect(Self.parse(Self.v2(family: 0x21, inet6))
            == .header(length: 52, version: 2, source: "[::1]:80", destination: "[2001:db8::9]:443"))
    }

    @Test func v2LocalAndUnspecifiedKeepTheConnectionsOwnAddress() {
        #expect(Self.parse(Self.v2(command: 0, family: 0, [])) == .header(length: 16, version: 2, source: nil, destination: nil))
        #expect(Self.parse(Self.v2(command: 0, family: 0x11, Self.inet4Body))  // LOCAL ignores what follows
            == .header(length: 28, version: 2, source: nil, destination: nil))
        #expect(Self.parse(Self.v2(family: 0x31, [UInt8](repeating: 0x2f, count: 216)))  // a Unix client
            == .header(length: 232, version: 2, source: nil, destination: nil))
    }

    /// Every strict prefix of a valid header waits for more; the whole one is read.
    @Test func everyPrefixOfAHeaderWaits() {
        for header in [Array("PROXY TCP4 192.0.2.7 127.0.0.1 54321 10000\r\n".utf8), Self.v2(Self.inet4Body)] {
            for length in 0..<header.count {
                #expect(Self.parse(Array(header[0..<length])) == .incomplete, "prefix of \(length) bytes")
            }
        }
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\n\r\n", "no PROXY header"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "a LF without its CR"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx", "a CR not followed by LF"),
        ("PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n", "the source address"),
        ("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "the source address"),
        ("PROXY TCP6 ::1 5.6.7.8 1 2\r\n", "the destination address"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "a port"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "a port"),
        ("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", "single spaces"),
        ("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "TCP4, TCP6 or UNKNOWN"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\u{1}\r\n", "printable"),
    ])
    func badV1LinesAreRefusedWithTheirReason(line: String, reason: String) {
        guard case .invalid(let why) = Self.parse(line) else {
            Issue.record("\(line.debugDescription) was not refused")
            return
        }
        #expect(why.contains(reason), "\(why)")
    }

    @Test func aV1LineWithoutCRLFWithin107BytesIsRefused() {
        let longest = "PROXY UNKNOWN " + String(repeating: "x", count: 107 - 16) + "\r\n"  // 107 bytes
        #expect(Self.parse(longest) == .header(length: 107, version: 1, source: nil, destination: nil))
        let tooLong = "PROXY UNKNOWN " + String(repeating: "x", count: 107 - 14)  // 107 bytes, no CRLF
        #expect(Self.parse(tooLong + "\r\n") == .invalid("PROXY v1: no CRLF within 107 bytes"))
        #expect(Self.parse(tooLong) == .invalid("PROXY v1: no CRLF within 107 bytes"))  // known before the CR
    }

    @Test func badV2HeadersAreRefusedAtTheFirstByteThatProvesIt() {
        #expect(Self.parse(Self.signature + [0x11]) == .invalid("PROXY v2: the version is not 2"))
        #expect(Self.parse(Self.signature + [0x22]) == .invalid("PROXY v2: the command is neither LOCAL nor PROXY"))
        #expect(Self.parse(Self.signature + [0x21, 0x41]) == .invalid("PROXY v2: unknown address family or transport"))
        #expect(Self.parse(Self.signature + [0x21, 0x11, 0x10, 0x00])  // known from the length alone
            == .invalid("PROXY v2: the header is longer than 4096 bytes"))
        #expect(Self.parse(Self.v2(family: 0x21, Self.inet4Body))
            == .invalid("PROXY v2: the address block is shorter than its family needs"))
        #expect(Self.parse(Self.v2(Self.inet4Body + [1, 0, 5, 0]))
            == .invalid("PROXY v2: a TLV runs past the header's end"))
        #expect(Self.parse([0x0d, 0x0a, 0x0d, 0x0b]) == .invalid("PROXY v2: the signature is wrong"))
    }
}

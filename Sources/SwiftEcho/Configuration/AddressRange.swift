import cecho

/// An IPv4 or IPv6 address range as `--allow` takes it: `10.0.0.0/8`, `fd00::/8`, or a bare
/// address (`/32`, `/128`). The core parses it, so the check here and the match there agree.
enum AddressRange {
    /// The core's form of `text`, or nil when it is not a valid range.
    static func parse(_ text: String) -> ce_cidr? {
        var range = ce_cidr()
        return ce_cidr_parse(text, &range) == 0 ? range : nil
    }
}

extension ValueFormat where Value == String {
    /// An address range, kept as typed.
    static var addressRange: ValueFormat {
        .text(
            expectation: "an IPv4 or IPv6 address, or a range ADDRESS/PREFIX with a prefix up to"
                + " 32 (IPv4) or 128 (IPv6) and no address bits set past it, such as 10.0.0.0/8,"
                + " fd00::/8 or 127.0.0.1",
            isValid: { AddressRange.parse($0) != nil }
        )
    }
}

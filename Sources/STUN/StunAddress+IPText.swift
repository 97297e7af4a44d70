/// Text forms of IP addresses: RFC 4291 §2.2 for reading IPv6, RFC 5952 for
/// writing it, and strict dotted-quad IPv4 (no leading zeros, which some
/// stacks read as octal).
extension StunAddress.IP: CustomStringConvertible, LosslessStringConvertible {
    /// Parses `"192.0.2.1"` or `"2001:db8::1"` (no brackets, no zone); nil otherwise.
    public init?(_ text: String) {
        let utf8 = Array(text.utf8)
        if let v4 = Self.parseIPv4(utf8[...]) {
            self = v4
        } else if let v6 = Self.parseIPv6(utf8[...]) {
            self = v6
        } else {
            return nil
        }
    }

    /// Dotted quad for IPv4; RFC 5952 canonical text for IPv6 (lower case,
    /// longest run of two or more zero groups shortened to "::", and
    /// IPv4-mapped addresses as `::ffff:a.b.c.d`).
    public var description: String {
        switch self {
        case .v4(let a):
            return Self.dottedQuad(a)
        case .v6(let high, let low):
            if high == 0, low >> 32 == 0xFFFF {
                return "::ffff:" + Self.dottedQuad(UInt32(truncatingIfNeeded: low))
            }
            let groups = (0..<8).map { i -> UInt16 in
                let half = i < 4 ? high : low
                return UInt16(truncatingIfNeeded: half >> (UInt64(3 - i % 4) * 16))
            }
            // RFC 5952 §4.2: compress the longest run of zeros (the first if tied), never a single group.
            var bestStart = -1, bestLength = 1, i = 0
            while i < 8 {
                guard groups[i] == 0 else { i += 1; continue }
                var j = i
                while j < 8, groups[j] == 0 { j += 1 }
                if j - i > bestLength { bestStart = i; bestLength = j - i }
                i = j
            }
            func hex(_ range: Range<Int>) -> String {
                groups[range].map { String($0, radix: 16) }.joined(separator: ":")
            }
            guard bestStart >= 0 else { return hex(0..<8) }
            return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
        }
    }

    private static func dottedQuad(_ a: UInt32) -> String {
        "\(a >> 24).\(a >> 16 & 0xFF).\(a >> 8 & 0xFF).\(a & 0xFF)"
    }

    /// Strict dotted quad: four decimal octets, no leading zeros.
    static func parseIPv4(_ text: ArraySlice<UInt8>) -> StunAddress.IP? {
        guard let value = parseIPv4Value(text) else { return nil }
        return .v4(value)
    }

    private static func parseIPv4Value(_ text: ArraySlice<UInt8>) -> UInt32? {
        let parts = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count) else { return nil }
            if part.count > 1, part.first == UInt8(ascii: "0") { return nil }
            var octet: UInt32 = 0
            for c in part {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else { return nil }
                octet = octet * 10 + UInt32(c - UInt8(ascii: "0"))
            }
            guard octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    /// RFC 4291 §2.2: eight groups of 1-4 hex digits, at most one "::", and
    /// optionally a dotted quad in place of the last two groups.
    static func parseIPv6(_ text: ArraySlice<UInt8>) -> StunAddress.IP? {
        guard text.count >= 2, text.count <= 45 else { return nil }
        let colon = UInt8(ascii: ":")
        // Split at the first "::" if any.
        var head = text[...], tail: ArraySlice<UInt8>? = nil
        var i = text.startIndex
        while i + 1 < text.endIndex {
            if text[i] == colon, text[i + 1] == colon {
                head = text[text.startIndex..<i]
                tail = text[(i + 2)...]
                break
            }
            i += 1
        }
        guard let headGroups = groups(head, allowIPv4: tail == nil) else { return nil }
        var all: [UInt16]
        if let tail {
            guard let tailGroups = groups(tail, allowIPv4: true), headGroups.count + tailGroups.count <= 7
            else { return nil }
            all = headGroups + Array(repeating: 0, count: 8 - headGroups.count - tailGroups.count) + tailGroups
        } else {
            guard headGroups.count == 8 else { return nil }
            all = headGroups
        }
        var high: UInt64 = 0, low: UInt64 = 0
        for g in all[0..<4] { high = high << 16 | UInt64(g) }
        for g in all[4..<8] { low = low << 16 | UInt64(g) }
        return .v6(high: high, low: low)
    }

    /// The colon-separated groups of one side of "::" (empty side: none).
    private static func groups(_ text: ArraySlice<UInt8>, allowIPv4: Bool) -> [UInt16]? {
        guard !text.isEmpty else { return [] }
        let parts = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        var out: [UInt16] = []
        for (index, part) in parts.enumerated() {
            if allowIPv4, index == parts.count - 1, part.contains(UInt8(ascii: ".")) {
                guard let v4 = parseIPv4Value(part) else { return nil }
                out.append(UInt16(v4 >> 16))
                out.append(UInt16(v4 & 0xFFFF))
                continue
            }
            guard (1...4).contains(part.count) else { return nil }
            var g: UInt16 = 0
            for c in part {
                guard let digit = hexDigit(c) else { return nil }
                g = g << 4 | UInt16(digit)
            }
            out.append(g)
        }
        return out.count <= 8 ? out : nil
    }

    private static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

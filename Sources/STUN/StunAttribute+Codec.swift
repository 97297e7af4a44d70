import Wire

// Reading and writing attribute values (the part after type and length).
extension StunAttribute {
    /// Address family numbers of RFC 8489 §14.1.
    private static let familyIPv4: UInt8 = 0x01
    private static let familyIPv6: UInt8 = 0x02

    /// Decodes the value at `bytes[range]` of an attribute of `type`.
    /// Returns nil for a type this codec does not know.
    static func decode(type: UInt16, _ bytes: [UInt8], _ range: Range<Int>,
                       transactionID: StunTransactionID) throws(StunError) -> StunAttribute? {
        let value = bytes[range]
        func invalid(_ reason: String) -> StunError { .invalidAttribute(type: type, reason: reason) }
        func fixed(_ n: Int) throws(StunError) {
            guard value.count == n else { throw invalid("length \(value.count), expected \(n)") }
        }
        func text() -> String { String(decoding: value, as: UTF8.self) }

        switch StunAttributeType(rawValue: type) {
        case .mappedAddress:
            return .mappedAddress(try decodeAddress(bytes, range, xor: nil, invalid: invalid))
        case .xorMappedAddress:
            return .xorMappedAddress(try decodeAddress(bytes, range, xor: transactionID, invalid: invalid))
        case .username:
            return .username(text())
        case .realm:
            return .realm(text())
        case .nonce:
            return .nonce(text())
        case .software:
            return .software(text())
        case .messageIntegrity:
            try fixed(StunIntegrity.length)
            return .messageIntegrity(Array(value))
        case .fingerprint:
            try fixed(4)
            return .fingerprint(bytes.readUInt32(at: range.lowerBound))
        case .priority:
            try fixed(4)
            return .priority(bytes.readUInt32(at: range.lowerBound))
        case .useCandidate:
            try fixed(0)
            return .useCandidate
        case .iceControlling:
            try fixed(8)
            return .iceControlling(StunAddress.uint64(bytes, at: range.lowerBound))
        case .iceControlled:
            try fixed(8)
            return .iceControlled(StunAddress.uint64(bytes, at: range.lowerBound))
        case .errorCode:
            // RFC 8489 §14.8: 21 reserved bits, class (3 bits), number (8 bits), reason.
            guard value.count >= 4 else { throw invalid("shorter than 4 bytes") }
            let errorClass = Int(bytes[range.lowerBound + 2] & 0x07)
            let number = Int(bytes[range.lowerBound + 3])
            guard (3...6).contains(errorClass), number < 100 else {
                throw invalid("class \(errorClass) number \(number)")
            }
            let reason = String(decoding: bytes[(range.lowerBound + 4)..<range.upperBound], as: UTF8.self)
            return .errorCode(try StunErrorCode(code: errorClass * 100 + number, reason: reason))
        case .unknownAttributes:
            guard value.count % 2 == 0 else { throw invalid("odd length \(value.count)") }
            return .unknownAttributes(stride(from: range.lowerBound, to: range.upperBound, by: 2).map {
                bytes.readUInt16(at: $0)
            })
        default:
            return nil
        }
    }

    /// (XOR-)MAPPED-ADDRESS, RFC 8489 §14.1 and §14.2: reserved byte, family,
    /// port, address. With `xor`, the port is xor'ed with the cookie's top 16
    /// bits and the address with the cookie (IPv4) or cookie + transaction ID (IPv6).
    private static func decodeAddress(_ bytes: [UInt8], _ range: Range<Int>, xor: StunTransactionID?,
                                      invalid: (String) -> StunError) throws(StunError) -> StunAddress {
        guard range.count >= 4 else { throw invalid("shorter than 4 bytes") }
        let start = range.lowerBound
        let family = bytes[start + 1]
        var port = bytes.readUInt16(at: start + 2)
        if xor != nil { port ^= UInt16(StunMessage.magicCookie >> 16) }
        switch family {
        case familyIPv4:
            guard range.count == 8 else { throw invalid("IPv4 length \(range.count)") }
            var a = bytes.readUInt32(at: start + 4)
            if xor != nil { a ^= StunMessage.magicCookie }
            return StunAddress(ip: .v4(a), port: port)
        case familyIPv6:
            guard range.count == 20 else { throw invalid("IPv6 length \(range.count)") }
            var high = StunAddress.uint64(bytes, at: start + 4)
            var low = StunAddress.uint64(bytes, at: start + 12)
            if let xor {
                high ^= UInt64(StunMessage.magicCookie) << 32 | UInt64(xor.high)
                low ^= xor.low
            }
            return StunAddress(ip: .v6(high: high, low: low), port: port)
        default:
            throw invalid("address family \(family)")
        }
    }

    /// Appends the attribute's value (no header, no padding) to `out`.
    /// MESSAGE-INTEGRITY and FINGERPRINT write their stored values.
    func encodeValue(into out: inout [UInt8], transactionID: StunTransactionID) {
        switch self {
        case .mappedAddress(let a):
            Self.encodeAddress(a, xor: nil, into: &out)
        case .xorMappedAddress(let a):
            Self.encodeAddress(a, xor: transactionID, into: &out)
        case .username(let s), .realm(let s), .nonce(let s), .software(let s):
            out.append(contentsOf: s.utf8)
        case .messageIntegrity(let mac):
            out.append(contentsOf: mac)
        case .fingerprint(let v), .priority(let v):
            out.appendUInt32(v)
        case .useCandidate:
            break
        case .iceControlling(let v), .iceControlled(let v):
            out.appendUInt64(v)
        case .errorCode(let e):
            out.appendUInt16(0)
            out.append(UInt8(e.code / 100))
            out.append(UInt8(e.code % 100))
            out.append(contentsOf: e.reason.utf8)
        case .unknownAttributes(let types):
            for t in types { out.appendUInt16(t) }
        case .other(_, let value):
            out.append(contentsOf: value)
        }
    }

    private static func encodeAddress(_ a: StunAddress, xor: StunTransactionID?, into out: inout [UInt8]) {
        let portMask: UInt16 = xor == nil ? 0 : UInt16(StunMessage.magicCookie >> 16)
        out.append(0)
        switch a.ip {
        case .v4(let ip):
            out.append(familyIPv4)
            out.appendUInt16(a.port ^ portMask)
            out.appendUInt32(xor == nil ? ip : ip ^ StunMessage.magicCookie)
        case .v6(var high, var low):
            out.append(familyIPv6)
            out.appendUInt16(a.port ^ portMask)
            if let xor {
                high ^= UInt64(StunMessage.magicCookie) << 32 | UInt64(xor.high)
                low ^= xor.low
            }
            out.appendUInt64(high)
            out.appendUInt64(low)
        }
    }
}

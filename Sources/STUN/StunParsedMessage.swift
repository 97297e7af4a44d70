import Wire

/// A STUN message read from a datagram, together with what is needed to
/// check it: its bytes and where MESSAGE-INTEGRITY and FINGERPRINT sit.
///
/// Parsing checks framing only (RFC 8489 §6.3); call `checkFingerprint()`
/// and `checkIntegrity(key:)` before trusting the content. Holding the
/// bytes costs no copy: `[UInt8]` is shared copy-on-write.
public struct StunParsedMessage: Sendable {
    /// The message: type, transaction ID and the attributes that count.
    /// Attributes after MESSAGE-INTEGRITY other than FINGERPRINT are left
    /// out, as RFC 8489 §14.5 tells receivers to ignore them.
    public let message: StunMessage
    /// The datagram the message was read from.
    public let bytes: [UInt8]
    /// Comprehension-required attribute types (below 0x8000) that this codec
    /// does not understand, in order of appearance. Non-empty on a request
    /// means: answer 420 with UNKNOWN-ATTRIBUTES listing them (RFC 8489 §6.3.1.1).
    public let unknownComprehensionRequired: [UInt16]
    /// Offset of the first MESSAGE-INTEGRITY attribute's header, if any.
    public let integrityOffset: Int?
    /// Offset of the FINGERPRINT attribute's header, if any.
    public let fingerprintOffset: Int?

    /// Parses one datagram as a STUN message.
    ///
    /// Throws for anything malformed: short input, bits or cookie of another
    /// protocol, a length that is not a multiple of 4 or does not match the
    /// datagram, attributes that overrun, values of the wrong size, or an
    /// attribute after FINGERPRINT. Padding bytes are not inspected (RFC 8489 §14).
    public init(parsing bytes: [UInt8]) throws(StunError) {
        let header = StunMessage.headerLength
        if let first = bytes.first, first & 0xC0 != 0 { throw .notStun }
        guard bytes.count >= header else { throw .truncated(needed: header, available: bytes.count) }
        let cookie = bytes.readUInt32(at: 4)
        guard cookie == StunMessage.magicCookie else { throw .badMagicCookie(cookie) }
        let length = Int(bytes.readUInt16(at: 2))
        guard length % 4 == 0 else { throw .badLength(length) }
        let end = header + length
        guard bytes.count >= end else { throw .truncated(needed: end, available: bytes.count) }
        guard bytes.count == end else { throw .trailingBytes(count: bytes.count - end) }

        let transactionID = StunTransactionID(bytes, at: 8)
        var attributes: [StunAttribute] = []
        var unknown: [UInt16] = []
        var integrityOffset: Int?
        var fingerprintOffset: Int?
        var offset = header
        while offset < end {
            // Every attribute starts 4-aligned and `end` is 4-aligned, so a
            // whole attribute header always fits; checked anyway.
            guard end - offset >= 4 else { throw .attributeOverrun(type: 0, offset: offset) }
            let type = bytes.readUInt16(at: offset)
            let valueLength = Int(bytes.readUInt16(at: offset + 2))
            let padded = (valueLength + 3) & ~3
            guard padded <= end - offset - 4 else { throw .attributeOverrun(type: type, offset: offset) }
            let value = (offset + 4)..<(offset + 4 + valueLength)
            if fingerprintOffset != nil { throw .attributeAfterFingerprint(type: type) }

            if type == StunAttributeType.fingerprint.rawValue {
                fingerprintOffset = offset
                if let a = try StunAttribute.decode(type: type, bytes, value, transactionID: transactionID) {
                    attributes.append(a)
                }
            } else if integrityOffset != nil {
                // RFC 8489 §14.5: ignore everything after MESSAGE-INTEGRITY but FINGERPRINT.
            } else if let a = try StunAttribute.decode(type: type, bytes, value, transactionID: transactionID) {
                if case .messageIntegrity = a { integrityOffset = offset }
                attributes.append(a)
            } else {
                if type < 0x8000 { unknown.append(type) }
                attributes.append(.other(type: type, value: Array(bytes[value])))
            }
            offset += 4 + padded
        }

        self.message = StunMessage(type: StunMessageType(rawValue: bytes.readUInt16(at: 0)),
                                   transactionID: transactionID, attributes: attributes)
        self.bytes = bytes
        self.unknownComprehensionRequired = unknown
        self.integrityOffset = integrityOffset
        self.fingerprintOffset = fingerprintOffset
    }

    /// Checks FINGERPRINT (RFC 8489 §14.7). Throws `fingerprintMissing` or
    /// `fingerprintMismatch`.
    public func checkFingerprint() throws(StunError) {
        guard let offset = fingerprintOffset else { throw .fingerprintMissing }
        let received = bytes.readUInt32(at: offset + 4)
        guard StunFingerprint.value(of: bytes, attributeOffset: offset) == received else {
            throw .fingerprintMismatch
        }
    }

    /// Checks MESSAGE-INTEGRITY against `key` (RFC 8489 §14.5). Throws
    /// `integrityMissing` or `integrityMismatch` (or `cryptoFailure`).
    public func checkIntegrity(key: [UInt8]) throws(StunError) {
        guard let offset = integrityOffset else { throw .integrityMissing }
        guard let expected = StunIntegrity.value(of: bytes, attributeOffset: offset, key: key) else {
            throw .cryptoFailure("HMAC(SHA-1)")
        }
        let received = bytes[(offset + 4)..<(offset + 4 + StunIntegrity.length)]
        guard StunIntegrity.constantTimeEqual(expected, received) else { throw .integrityMismatch }
    }

    /// Checks MESSAGE-INTEGRITY with short-term credentials: the key is the
    /// password (RFC 8489 §9.1.1); for ICE, the local password for requests
    /// received and the remote password for responses (RFC 8445 §7.2.2).
    public func checkIntegrity(password: String) throws(StunError) {
        try checkIntegrity(key: StunIntegrity.shortTermKey(password: password))
    }

    /// Checks FINGERPRINT if present, then MESSAGE-INTEGRITY: the usual
    /// sequence for an ICE connectivity check.
    public func checkFingerprintAndIntegrity(password: String) throws(StunError) {
        if fingerprintOffset != nil { try checkFingerprint() }
        try checkIntegrity(password: password)
    }
}

import Wire

extension StunMessage {
    /// Writes the message.
    ///
    /// Attributes go out in order, each padded with zeros to 4 bytes
    /// (RFC 8489 §14). Stored MESSAGE-INTEGRITY and FINGERPRINT entries are
    /// skipped; instead, with `integrityKey`, MESSAGE-INTEGRITY is computed
    /// and appended (RFC 8489 §14.5), and with `fingerprint`, FINGERPRINT
    /// follows as the last attribute (§14.7).
    public func encode(integrityKey: [UInt8]? = nil, fingerprint: Bool = false) throws(StunError) -> [UInt8] {
        try encode(integrityKey: integrityKey, fingerprint: fingerprint, paddingByte: 0)
    }

    /// Writes the message with short-term credentials: MESSAGE-INTEGRITY keyed
    /// by `password` (RFC 8489 §9.1.1), then FINGERPRINT, as ICE does.
    public func encode(password: String, fingerprint: Bool = true) throws(StunError) -> [UInt8] {
        try encode(integrityKey: StunIntegrity.shortTermKey(password: password), fingerprint: fingerprint)
    }

    /// The encoder, with the padding byte selectable so tests can reproduce
    /// RFC 5769 vectors, which pad with spaces (RFC 5389 allowed any value).
    func encode(integrityKey: [UInt8]?, fingerprint: Bool, paddingByte: UInt8) throws(StunError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        out.appendUInt16(type.rawValue)
        out.appendUInt16(0)
        out.appendUInt32(Self.magicCookie)
        transactionID.append(to: &out)

        for attribute in attributes {
            switch attribute {
            case .messageIntegrity, .fingerprint: continue
            default: break
            }
            let headerAt = out.count
            out.appendUInt32(0)
            attribute.encodeValue(into: &out, transactionID: transactionID)
            let valueLength = out.count - headerAt - 4
            guard valueLength <= 0xFFFF else {
                throw .attributeTooLong(type: attribute.type.rawValue, length: valueLength)
            }
            out.writeUInt16(attribute.type.rawValue, at: headerAt)
            out.writeUInt16(UInt16(valueLength), at: headerAt + 2)
            while out.count % 4 != 0 { out.append(paddingByte) }
            guard out.count - Self.headerLength <= 0xFFFF else {
                throw .messageTooLong(length: out.count - Self.headerLength)
            }
        }

        let trailer = (integrityKey == nil ? 0 : 4 + StunIntegrity.length) + (fingerprint ? 8 : 0)
        guard out.count + trailer - Self.headerLength <= 0xFFFF else {
            throw .messageTooLong(length: out.count + trailer - Self.headerLength)
        }
        if let integrityKey {
            let offset = out.count
            guard let mac = StunIntegrity.value(of: out, attributeOffset: offset, key: integrityKey) else {
                throw .cryptoFailure("HMAC(SHA-1)")
            }
            out.appendUInt16(StunAttributeType.messageIntegrity.rawValue)
            out.appendUInt16(UInt16(StunIntegrity.length))
            out.append(contentsOf: mac)
        }
        if fingerprint {
            let offset = out.count
            let crc = StunFingerprint.value(of: out, attributeOffset: offset)
            out.appendUInt16(StunAttributeType.fingerprint.rawValue)
            out.appendUInt16(4)
            out.appendUInt32(crc)
        }
        out.writeUInt16(UInt16(out.count - Self.headerLength), at: 2)
        return out
    }
}

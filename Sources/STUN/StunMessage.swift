import Wire

/// A STUN message (RFC 8489 §5): a type, a transaction ID and an ordered
/// list of attributes. A plain value; `StunParsedMessage` reads one from
/// bytes, `encode` writes one.
public struct StunMessage: Equatable, Sendable {
    /// The magic cookie every RFC 5389/8489 message carries (RFC 8489 §5).
    public static let magicCookie: UInt32 = 0x2112_A442
    /// Size of the fixed header.
    public static let headerLength = 20

    /// Class and method.
    public var type: StunMessageType
    /// The transaction ID that pairs a response with its request.
    public var transactionID: StunTransactionID
    /// The attributes in wire order. When encoding, MESSAGE-INTEGRITY and
    /// FINGERPRINT entries are skipped: `encode` computes them fresh.
    public var attributes: [StunAttribute]

    /// Creates a message.
    public init(type: StunMessageType, transactionID: StunTransactionID, attributes: [StunAttribute] = []) {
        self.type = type
        self.transactionID = transactionID
        self.attributes = attributes
    }

    /// True when `bytes` looks like a STUN message: top two bits zero, magic
    /// cookie, and a length field that matches the datagram (RFC 8489 §5,
    /// RFC 7983 §7). Cheaper than a full parse; use it to demultiplex.
    public static func isStun(_ bytes: [UInt8]) -> Bool {
        bytes.count >= headerLength && bytes[0] & 0xC0 == 0
            && bytes.readUInt32(at: 4) == magicCookie
            && Int(bytes.readUInt16(at: 2)) + headerLength == bytes.count
    }
}

// Accessors for the attributes Cohort reads. Each returns the first
// occurrence; RFC 8489 §14 says only the first needs processing.
extension StunMessage {
    /// The first attribute of `type`, if any.
    public func attribute(_ type: StunAttributeType) -> StunAttribute? {
        attributes.first { $0.type == type }
    }

    /// USERNAME.
    public var username: String? {
        for case .username(let v) in attributes { return v }
        return nil
    }

    /// SOFTWARE.
    public var software: String? {
        for case .software(let v) in attributes { return v }
        return nil
    }

    /// XOR-MAPPED-ADDRESS.
    public var xorMappedAddress: StunAddress? {
        for case .xorMappedAddress(let v) in attributes { return v }
        return nil
    }

    /// MAPPED-ADDRESS.
    public var mappedAddress: StunAddress? {
        for case .mappedAddress(let v) in attributes { return v }
        return nil
    }

    /// ERROR-CODE.
    public var errorCode: StunErrorCode? {
        for case .errorCode(let v) in attributes { return v }
        return nil
    }

    /// UNKNOWN-ATTRIBUTES.
    public var unknownAttributes: [UInt16]? {
        for case .unknownAttributes(let v) in attributes { return v }
        return nil
    }

    /// PRIORITY.
    public var priority: UInt32? {
        for case .priority(let v) in attributes { return v }
        return nil
    }

    /// True when USE-CANDIDATE is present.
    public var useCandidate: Bool {
        attributes.contains { $0 == .useCandidate }
    }

    /// The tie-breaker of ICE-CONTROLLING.
    public var iceControlling: UInt64? {
        for case .iceControlling(let v) in attributes { return v }
        return nil
    }

    /// The tie-breaker of ICE-CONTROLLED.
    public var iceControlled: UInt64? {
        for case .iceControlled(let v) in attributes { return v }
        return nil
    }
}

extension StunMessage {
    /// The message without MESSAGE-INTEGRITY and FINGERPRINT attributes.
    public var withoutIntegrityAndFingerprint: StunMessage {
        var copy = self
        copy.attributes.removeAll {
            switch $0 {
            case .messageIntegrity, .fingerprint: return true
            default: return false
            }
        }
        return copy
    }
}

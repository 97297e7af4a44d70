/// One STUN attribute, typed where Cohort's ICE-lite role needs it
/// (RFC 8489 §14, RFC 8445 §16.1) and raw otherwise.
public enum StunAttribute: Equatable, Sendable {
    /// MAPPED-ADDRESS (RFC 8489 §14.1): the reflexive address, not obfuscated.
    case mappedAddress(StunAddress)
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2): the reflexive address, xor'ed
    /// with the magic cookie and transaction ID on the wire.
    case xorMappedAddress(StunAddress)
    /// USERNAME (RFC 8489 §14.3); for ICE, `"<receiver ufrag>:<sender ufrag>"` (RFC 8445 §7.2.2).
    case username(String)
    /// MESSAGE-INTEGRITY (RFC 8489 §14.5): the 20-byte HMAC-SHA1 as received.
    case messageIntegrity([UInt8])
    /// FINGERPRINT (RFC 8489 §14.7): the CRC-32 value as received (already xor'ed).
    case fingerprint(UInt32)
    /// ERROR-CODE (RFC 8489 §14.8).
    case errorCode(StunErrorCode)
    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.13): the types a server did not understand.
    case unknownAttributes([UInt16])
    /// REALM (RFC 8489 §14.9).
    case realm(String)
    /// NONCE (RFC 8489 §14.10).
    case nonce(String)
    /// SOFTWARE (RFC 8489 §14.14).
    case software(String)
    /// PRIORITY (RFC 8445 §16.1): the priority a peer-reflexive candidate would get.
    case priority(UInt32)
    /// USE-CANDIDATE (RFC 8445 §16.1): the controlling agent nominates this pair.
    case useCandidate
    /// ICE-CONTROLLING (RFC 8445 §16.1) with the sender's tie-breaker.
    case iceControlling(UInt64)
    /// ICE-CONTROLLED (RFC 8445 §16.1) with the sender's tie-breaker.
    case iceControlled(UInt64)
    /// Any other attribute, kept as received. Comprehension-optional ones
    /// (type ≥ 0x8000) are ignored; comprehension-required ones are also
    /// listed in `StunParsedMessage.unknownComprehensionRequired`.
    case other(type: UInt16, value: [UInt8])

    /// The attribute's type number.
    public var type: StunAttributeType {
        switch self {
        case .mappedAddress: return .mappedAddress
        case .xorMappedAddress: return .xorMappedAddress
        case .username: return .username
        case .messageIntegrity: return .messageIntegrity
        case .fingerprint: return .fingerprint
        case .errorCode: return .errorCode
        case .unknownAttributes: return .unknownAttributes
        case .realm: return .realm
        case .nonce: return .nonce
        case .software: return .software
        case .priority: return .priority
        case .useCandidate: return .useCandidate
        case .iceControlling: return .iceControlling
        case .iceControlled: return .iceControlled
        case .other(let type, _): return StunAttributeType(rawValue: type)
        }
    }
}

/// The value of an ERROR-CODE attribute (RFC 8489 §14.8).
public struct StunErrorCode: Equatable, Sendable, CustomStringConvertible {
    /// The number, 300...699.
    public let code: Int
    /// The reason phrase (UTF-8, under 128 characters).
    public var reason: String

    /// An error code; throws `invalidErrorCode` outside 300...699.
    public init(code: Int, reason: String) throws(StunError) {
        guard (300...699).contains(code) else { throw .invalidErrorCode(code) }
        self.code = code
        self.reason = reason
    }

    private init(known code: Int, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// 300 Try Alternate.
    public static let tryAlternate = StunErrorCode(known: 300, "Try Alternate")
    /// 400 Bad Request: malformed, or missing USERNAME/MESSAGE-INTEGRITY (RFC 8489 §9.1.3).
    public static let badRequest = StunErrorCode(known: 400, "Bad Request")
    /// 401 Unauthorized: unknown USERNAME or wrong MESSAGE-INTEGRITY (RFC 8489 §9.1.3).
    public static let unauthorized = StunErrorCode(known: 401, "Unauthorized")
    /// 420 Unknown Attribute, sent with UNKNOWN-ATTRIBUTES (RFC 8489 §6.3.1.1).
    public static let unknownAttribute = StunErrorCode(known: 420, "Unknown Attribute")
    /// 438 Stale Nonce.
    public static let staleNonce = StunErrorCode(known: 438, "Stale Nonce")
    /// 487 Role Conflict (RFC 8445 §7.3.1.1).
    public static let roleConflict = StunErrorCode(known: 487, "Role Conflict")
    /// 500 Server Error.
    public static let serverError = StunErrorCode(known: 500, "Server Error")

    /// "420 Unknown Attribute", for logs.
    public var description: String { "\(code) \(reason)" }
}

/// A STUN attribute type number (RFC 8489 §14, §18.3; RFC 8445 §16.1).
public struct StunAttributeType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 16-bit type number.
    public let rawValue: UInt16

    /// Wraps a type number.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    public static let mappedAddress = StunAttributeType(rawValue: 0x0001)
    /// USERNAME (RFC 8489 §14.3).
    public static let username = StunAttributeType(rawValue: 0x0006)
    /// MESSAGE-INTEGRITY (RFC 8489 §14.5).
    public static let messageIntegrity = StunAttributeType(rawValue: 0x0008)
    /// ERROR-CODE (RFC 8489 §14.8).
    public static let errorCode = StunAttributeType(rawValue: 0x0009)
    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.13).
    public static let unknownAttributes = StunAttributeType(rawValue: 0x000A)
    /// REALM (RFC 8489 §14.9), long-term credentials only.
    public static let realm = StunAttributeType(rawValue: 0x0014)
    /// NONCE (RFC 8489 §14.10), long-term credentials only.
    public static let nonce = StunAttributeType(rawValue: 0x0015)
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6); recognised by number only.
    public static let messageIntegritySHA256 = StunAttributeType(rawValue: 0x001C)
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
    public static let xorMappedAddress = StunAttributeType(rawValue: 0x0020)
    /// PRIORITY (RFC 8445 §16.1).
    public static let priority = StunAttributeType(rawValue: 0x0024)
    /// USE-CANDIDATE (RFC 8445 §16.1).
    public static let useCandidate = StunAttributeType(rawValue: 0x0025)
    /// SOFTWARE (RFC 8489 §14.14).
    public static let software = StunAttributeType(rawValue: 0x8022)
    /// FINGERPRINT (RFC 8489 §14.7).
    public static let fingerprint = StunAttributeType(rawValue: 0x8028)
    /// ICE-CONTROLLED (RFC 8445 §16.1).
    public static let iceControlled = StunAttributeType(rawValue: 0x8029)
    /// ICE-CONTROLLING (RFC 8445 §16.1).
    public static let iceControlling = StunAttributeType(rawValue: 0x802A)

    /// Types 0x0000...0x7FFF are comprehension-required: a receiver that does
    /// not understand one must reject the request with 420 (RFC 8489 §14).
    public var isComprehensionRequired: Bool { rawValue < 0x8000 }

    /// Readable name for logs.
    public var description: String {
        switch self {
        case .mappedAddress: return "MAPPED-ADDRESS"
        case .username: return "USERNAME"
        case .messageIntegrity: return "MESSAGE-INTEGRITY"
        case .errorCode: return "ERROR-CODE"
        case .unknownAttributes: return "UNKNOWN-ATTRIBUTES"
        case .realm: return "REALM"
        case .nonce: return "NONCE"
        case .messageIntegritySHA256: return "MESSAGE-INTEGRITY-SHA256"
        case .xorMappedAddress: return "XOR-MAPPED-ADDRESS"
        case .priority: return "PRIORITY"
        case .useCandidate: return "USE-CANDIDATE"
        case .software: return "SOFTWARE"
        case .fingerprint: return "FINGERPRINT"
        case .iceControlled: return "ICE-CONTROLLED"
        case .iceControlling: return "ICE-CONTROLLING"
        default: return "0x" + String(rawValue, radix: 16)
        }
    }
}

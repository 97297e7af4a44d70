/// The class of a STUN message (RFC 8489 §5): the C1 and C0 bits of the type field.
public enum StunClass: UInt8, Sendable, CaseIterable {
    /// A request, which expects a success or error response.
    case request = 0b00
    /// An indication, which expects no response.
    case indication = 0b01
    /// A success response.
    case successResponse = 0b10
    /// An error response, carrying ERROR-CODE.
    case errorResponse = 0b11
}

/// A STUN method: the 12 M bits of the type field (RFC 8489 §5, §18.2).
public struct StunMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 12-bit method number.
    public let rawValue: UInt16

    /// A method from its number; nil when it does not fit in 12 bits.
    public init?(rawValue: UInt16) {
        guard rawValue <= 0x0FFF else { return nil }
        self.rawValue = rawValue
    }

    private init(known: UInt16) { rawValue = known }

    /// Binding (RFC 8489 §18.2), the only method ICE connectivity checks use.
    public static let binding = StunMethod(known: 0x001)

    /// Readable name for logs.
    public var description: String {
        self == .binding ? "Binding" : "method 0x\(String(rawValue, radix: 16))"
    }
}

/// Class and method together, as packed into the 14-bit message type field.
public struct StunMessageType: Hashable, Sendable, CustomStringConvertible {
    /// The method.
    public var method: StunMethod
    /// The class.
    public var messageClass: StunClass

    /// Creates a type from its method and class.
    public init(method: StunMethod, messageClass: StunClass) {
        self.method = method
        self.messageClass = messageClass
    }

    /// A Binding request (0x0001).
    public static let bindingRequest = StunMessageType(method: .binding, messageClass: .request)
    /// A Binding success response (0x0101).
    public static let bindingSuccess = StunMessageType(method: .binding, messageClass: .successResponse)
    /// A Binding error response (0x0111).
    public static let bindingError = StunMessageType(method: .binding, messageClass: .errorResponse)
    /// A Binding indication (0x0011), used as an ICE keepalive (RFC 8445 §11).
    public static let bindingIndication = StunMessageType(method: .binding, messageClass: .indication)

    /// Unpacks the type field; its two top bits are ignored (the parser has
    /// already rejected messages where they are set).
    ///
    /// Figure 3 of RFC 8489 §5 interleaves the bits:
    /// `M11..M7 C1 M6..M4 C0 M3..M0`.
    public init(rawValue: UInt16) {
        let m = (rawValue & 0x000F) | ((rawValue & 0x00E0) >> 1) | ((rawValue & 0x3E00) >> 2)
        let c = ((rawValue & 0x0010) >> 4) | ((rawValue & 0x0100) >> 7)
        // `m` has 12 bits by construction and `c` 2 bits, so neither initializer fails.
        method = StunMethod(rawValue: m)!
        messageClass = StunClass(rawValue: UInt8(c))!
    }

    /// The packed 16-bit type field (top two bits zero).
    public var rawValue: UInt16 {
        let m = method.rawValue, c = UInt16(messageClass.rawValue)
        return (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2)
            | ((c & 0b01) << 4) | ((c & 0b10) << 7)
    }

    /// Readable name for logs.
    public var description: String { "\(method) \(messageClass)" }
}

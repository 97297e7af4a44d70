/// How the elements inside an RTP header extension are laid out (RFC 8285 §4).
public enum RTPHeaderExtensionForm: Equatable, Sendable {
    /// One-byte header: profile 0xBEDE, 4-bit ID and 4-bit length-minus-one (§4.2).
    case oneByte
    /// Two-byte header: profile 0x100X, 8-bit ID and 8-bit length (§4.3);
    /// `appBits` are the profile's low 4 bits, which the application may use.
    case twoByte(appBits: UInt8)

    /// The one-byte form's "defined by profile" value (RFC 8285 §4.2).
    public static let oneByteProfile: UInt16 = 0xBEDE

    /// The form for an extension's profile field, or nil for a profile that
    /// is not RFC 8285 (its contents are then opaque).
    @inlinable public init?(profile: UInt16) {
        if profile == Self.oneByteProfile {
            self = .oneByte
        } else if profile & 0xFFF0 == 0x1000 {
            self = .twoByte(appBits: UInt8(profile & 0x000F))
        } else {
            return nil
        }
    }
}

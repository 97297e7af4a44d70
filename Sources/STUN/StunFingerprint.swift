/// The FINGERPRINT computation of RFC 8489 §14.7: CRC-32 (ISO/IEC 3309,
/// the one of Ethernet and zlib) xor'ed with 0x5354554E, so that a STUN
/// message is told apart from other protocols sharing the port.
public enum StunFingerprint {
    /// The constant xor'ed into the CRC ("STUN" in ASCII).
    public static let xorValue: UInt32 = 0x5354_554E

    /// Table for the reflected polynomial 0xEDB88320, built once.
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 {
            c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1
        }
        return c
    }

    /// CRC-32 of `bytes[range]`.
    public static func crc32(_ bytes: [UInt8], range: Range<Int>? = nil) -> UInt32 {
        let range = range ?? bytes.indices
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for i in range {
                crc = t[Int((crc ^ UInt32(bytes[i])) & 0xFF)] ^ (crc >> 8)
            }
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// The FINGERPRINT value for a message whose FINGERPRINT attribute starts
    /// at `attributeOffset`.
    ///
    /// RFC 8489 §14.7: the CRC covers the message up to the attribute, with
    /// the header's length field already counting the 8-byte attribute. The
    /// length field is patched in the running CRC rather than in a copy.
    static func value(of message: [UInt8], attributeOffset: Int) -> UInt32 {
        let length = UInt16(truncatingIfNeeded: attributeOffset + 8 - StunMessage.headerLength)
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for i in 0..<attributeOffset {
                let byte: UInt8
                switch i {
                case 2: byte = UInt8(truncatingIfNeeded: length >> 8)
                case 3: byte = UInt8(truncatingIfNeeded: length)
                default: byte = message[i]
                }
                crc = t[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        return (crc ^ 0xFFFF_FFFF) ^ xorValue
    }
}

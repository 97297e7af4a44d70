/// Everything that can go wrong reading or writing a STUN message.
///
/// Parsing peer bytes never traps: each malformed input maps to one of these
/// cases, so the caller can count it, drop the datagram, or answer with the
/// matching STUN error response (400 for malformed requests, 401 for
/// integrity failures; RFC 8489 §6.3.1 and §9.1.3).
public enum StunError: Error, Equatable, Sendable {
    /// Fewer bytes than the 20-byte header or the header's length field requires.
    case truncated(needed: Int, available: Int)
    /// The two most significant bits are not zero, so this is not STUN
    /// (RFC 8489 §5); usually a DTLS, RTP or RTCP packet that reached the wrong parser.
    case notStun
    /// The magic cookie is not 0x2112A442 (RFC 8489 §5): an RFC 3489 message or not STUN.
    case badMagicCookie(UInt32)
    /// The header's message length is not a multiple of 4 (RFC 8489 §5).
    case badLength(Int)
    /// The datagram carries bytes beyond the end announced by the header's length field.
    case trailingBytes(count: Int)
    /// An attribute's length, with its padding to 4 bytes, runs past the end of the message.
    case attributeOverrun(type: UInt16, offset: Int)
    /// An attribute value the RFCs forbid: wrong size, unknown address family,
    /// error class outside 3...6 (RFC 8489 §14), and the like.
    case invalidAttribute(type: UInt16, reason: String)
    /// An attribute follows FINGERPRINT, which must be last (RFC 8489 §14.7).
    case attributeAfterFingerprint(type: UInt16)
    /// The message has no MESSAGE-INTEGRITY attribute to check.
    case integrityMissing
    /// MESSAGE-INTEGRITY does not match the key: answer 401 (RFC 8489 §9.1.3).
    case integrityMismatch
    /// The message has no FINGERPRINT attribute to check.
    case fingerprintMissing
    /// FINGERPRINT does not match the message: not STUN, or corrupted (RFC 8489 §14.7).
    case fingerprintMismatch
    /// While building: an attribute value longer than its 16-bit length field allows.
    case attributeTooLong(type: UInt16, length: Int)
    /// While building: the message body exceeds the 16-bit message length (65,532 bytes).
    case messageTooLong(length: Int)
    /// A transaction ID must be exactly 96 bits (RFC 8489 §5).
    case invalidTransactionID(length: Int)
    /// Text that is not an IPv4 `a.b.c.d:port` or IPv6 `[h:h::h]:port` socket address.
    case invalidAddress(String)
    /// An ERROR-CODE number outside 300...699 (RFC 8489 §14.8).
    case invalidErrorCode(Int)
    /// OpenSSL failed to compute a digest; not caused by peer input.
    case cryptoFailure(String)
}

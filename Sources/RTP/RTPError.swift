/// Why an RTP or RTCP packet (or a request to build one) was rejected.
///
/// Every case is a drop reason a receive path can count separately; none of
/// them carries a `String`, so throwing on the hot path never allocates.
/// Offsets are byte indices into the array the caller passed in.
public enum RTPError: Error, Equatable, Sendable {
    // MARK: RTP (RFC 3550 §5.1, RFC 8285)

    /// The packet ends before a header field it announces: the fixed header,
    /// the CSRC list (CC), or the header extension's own 4-byte header.
    case truncated(needed: Int, available: Int)
    /// The version field is not 2 (RFC 3550 §5.1). The packet is not RTP/RTCP.
    case unsupportedVersion(UInt8)
    /// The padding count (last octet when P is set) is zero or larger than
    /// the bytes after the header (RFC 3550 §5.1, §6.4.1).
    case invalidPadding(count: Int, available: Int)
    /// The header extension's length (in 32-bit words) runs past the end of
    /// the packet (RFC 3550 §5.3.1).
    case extensionLengthOverrun(declared: Int, available: Int)
    /// A one- or two-byte extension element's length runs past the end of the
    /// extension block (RFC 8285 §4.2, §4.3); `offset` is the element's first byte.
    case extensionElementOverrun(offset: Int)

    // MARK: RTCP (RFC 3550 §6, RFC 4585, RFC 5104, RFC 5506)

    /// A compound packet ends with fewer than 4 bytes, too few for an RTCP header.
    case rtcpTruncatedHeader(offset: Int, available: Int)
    /// An RTCP length field (32-bit words minus one) points past the end of
    /// the compound packet (RFC 3550 §6.4.1).
    case rtcpLengthOverrun(offset: Int, declared: Int, available: Int)
    /// The padding bit is set on a packet that is not the last of the
    /// compound (RFC 3550 §6.4.1); framing is intact, so iteration may go on.
    case rtcpPaddingNotLast(offset: Int)
    /// The packet body is shorter than its type and count (RC, SC, FCI) require.
    case rtcpPacketTooShort(offset: Int, packetType: UInt8, needed: Int, available: Int)
    /// An SDES chunk or item runs past the packet, or a chunk has no END item
    /// (RFC 3550 §6.5).
    case sdesChunkOverrun(offset: Int)
    /// A BYE reason length runs past the packet (RFC 3550 §6.6).
    case byeReasonOverrun(offset: Int)
    /// Transport-wide feedback ends inside its packet chunks or receive deltas
    /// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
    case transportFeedbackTruncated(offset: Int)
    /// Transport-wide feedback uses the reserved status symbol 0b11 for a
    /// packet it reports on (§3.1.1).
    case transportFeedbackReservedSymbol(offset: Int)

    // MARK: Building (our own inputs, checked so a caller bug is a typed error)

    /// A payload type outside 0...127.
    case invalidPayloadType(UInt8)
    /// More than 15 CSRCs (the CC field is 4 bits).
    case tooManyCSRCs(Int)
    /// A one-byte extension element needs an ID in 1...14 and 1...16 bytes of
    /// data (RFC 8285 §4.2).
    case invalidExtensionElement(id: UInt8, length: Int)
}

/// Why the mixer refused a packet or an operation. Peer input that fails
/// here is counted and dropped; it never stops the 20 ms cadence.
public enum MixingError: Error, Equatable, Sendable {
    /// The payload is empty: an Opus packet has at least a TOC byte (RFC 6716 §3.4, R1).
    case emptyPayload
    /// The packet's framing breaks one of RFC 6716 §3.4's rules (R2–R7); `reason` names which.
    case malformedPacket(reason: String)
    /// The packet holds more than 120 ms of audio (RFC 6716 §3.4, R5).
    case packetTooLong
    /// A packet for a source key that was never added as a contributor.
    case unknownContributor(UInt32)
}

/// What a datagram arriving on the shared media port is, by its first byte
/// (RFC 7983 §7, with RFC 5761 §4 to tell RTCP from RTP).
public enum PacketClass: Equatable, Sendable {
    /// STUN (first byte 0...3).
    case stun
    /// DTLS record (first byte 20...63).
    case dtls
    /// SRTP (first byte 128...191, second byte's payload type outside 64...95).
    case rtp
    /// SRTCP (first byte 128...191, packet type 192...223).
    case rtcp
    /// ZRTP, TURN channel or anything else: Cohort drops and counts it.
    case unknown

    /// Classifies a datagram. Empty input is `.unknown`.
    @inlinable public static func classify(_ datagram: [UInt8]) -> PacketClass {
        // Not `datagram.first`: unoptimised (test) builds allocate for it,
        // and this runs on every datagram (ForwardingAllocationTests).
        guard !datagram.isEmpty else { return .unknown }
        let first = datagram[0]
        switch first {
        case 0...3:
            return .stun
        case 20...63:
            return .dtls
        case 128...191:
            guard datagram.count >= 2 else { return .unknown }
            // RFC 5761 §4: RTCP packet types 192...223 collide with RTP payload
            // types 64...95 once the marker bit is masked off.
            let pt = datagram[1] & 0x7F
            return (64...95).contains(pt) ? .rtcp : .rtp
        default:
            return .unknown
        }
    }
}

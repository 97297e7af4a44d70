/// The guard ladder run on every packet before libsrtp sees it, so that no
/// peer-controlled length can make libsrtp read past the packet, whatever
/// version of libsrtp is installed.
enum PacketCheck {
    /// Size of the fixed RTP header (RFC 3550 §5.1).
    static let rtpFixedHeader = 12
    /// Size of the RTCP header up to and including the sender SSRC (RFC 3550 §6.4.1).
    static let rtcpFixedHeader = 8
    /// The E flag and 31-bit SRTCP index (RFC 3711 §3.4).
    static let srtcpIndexLength = 4
    /// The largest packet a UDP datagram can carry.
    static let maximumPacketLength = 65_535

    /// Length of the RTP header: fixed part, CSRC list and header
    /// extension (RFC 3550 §5.1, §5.3.1). Nil when it is not version 2 or
    /// runs past `length`.
    static func rtpHeaderLength(_ packet: UnsafeRawBufferPointer, length: Int) -> Int? {
        guard length >= rtpFixedHeader, length <= packet.count else { return nil }
        let first = packet[0]
        guard first >> 6 == 2 else { return nil }
        var header = rtpFixedHeader + 4 * Int(first & 0x0F)
        if first & 0x10 != 0 {
            guard header + 4 <= length else { return nil }
            let words = Int(packet[header + 2]) << 8 | Int(packet[header + 3])
            header += 4 + 4 * words
        }
        return header <= length ? header : nil
    }

    /// True when `packet` starts with a version-2 RTCP header (RFC 3550 §6.4).
    static func isRTCP(_ packet: UnsafeRawBufferPointer, length: Int) -> Bool {
        length >= rtcpFixedHeader && length <= packet.count && packet[0] >> 6 == 2
    }
}

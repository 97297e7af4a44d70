import Wire

/// Walks a compound RTCP packet (RFC 3550 §6.1) one typed packet at a time.
///
/// Reduced-size RTCP (RFC 5506) is accepted: a compound need not start with
/// SR/RR nor carry SDES, and a single feedback packet is a valid input.
///
/// Framing errors (short header, version not 2, a length field that
/// overruns) end the walk: the error is thrown and `next()` then returns nil.
/// Errors inside one packet's body leave the framing intact, so the caller
/// may count the error and call `next()` again for the packets after it.
public struct RTCPCompoundReader: Sendable {
    /// The compound packet (held by reference, not copied).
    public let bytes: [UInt8]
    /// Offset of the next packet's header.
    public private(set) var offset: Int

    /// Reads the compound packet `bytes` (decrypted SRTCP, without the SRTCP
    /// index and tag).
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
    }

    /// The next packet, or nil at the end.
    public mutating func next() throws(RTPError) -> RTCPPacket? {
        let end = bytes.count
        guard offset < end else { return nil }
        let start = offset
        guard end - start >= 4 else {
            offset = end
            throw .rtcpTruncatedHeader(offset: start, available: end - start)
        }
        let b0 = bytes[start]
        guard b0 >> 6 == 2 else {
            offset = end
            throw .unsupportedVersion(b0 >> 6)
        }
        let header = RTCPHeader(hasPadding: b0 & 0x20 != 0, count: b0 & 0x1F,
                                packetType: bytes[start + 1], length: bytes.readUInt16(at: start + 2))
        let length = header.packetLength
        guard length <= end - start else {
            offset = end
            throw .rtcpLengthOverrun(offset: start, declared: length, available: end - start)
        }
        offset = start + length

        var bodyEnd = offset
        if header.hasPadding {
            // RFC 3550 §6.4.1: only the last packet of a compound is padded,
            // and the last octet counts the padding, itself included.
            guard offset == end else { throw .rtcpPaddingNotLast(offset: start) }
            let padding = Int(bytes[offset - 1])
            guard padding >= 1, padding <= length - 4 else {
                throw .invalidPadding(count: padding, available: length - 4)
            }
            bodyEnd -= padding
        }
        return try RTCPPacket(RTCPPacketView(bytes: bytes, header: header, start: start, body: (start + 4)..<bodyEnd))
    }
}

/// Whole-compound helpers.
public enum RTCPCompound {
    /// Parses every packet, failing on the first error of any kind.
    public static func parse(_ bytes: [UInt8]) throws(RTPError) -> [RTCPPacket] {
        var reader = RTCPCompoundReader(bytes)
        var packets: [RTCPPacket] = []
        while let packet = try reader.next() { packets.append(packet) }
        return packets
    }

    /// Concatenates `packets` into one compound packet. RFC 3550 §6.1 wants
    /// SR or RR first and an SDES CNAME in full compounds; reduced-size
    /// feedback (RFC 5506) may be sent alone.
    public static func build(_ packets: [any RTCPPacketWritable]) -> [UInt8] {
        var out: [UInt8] = []
        for packet in packets { packet.write(to: &out) }
        return out
    }
}

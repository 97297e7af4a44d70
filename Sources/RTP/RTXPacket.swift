import Wire

/// The RTP retransmission payload format (RFC 4588 §4), in both directions:
/// writing a retransmission of a cached packet to a subscriber, and turning
/// a publisher's retransmission back into the original packet.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// |                         RTP Header                            |
/// |            OSN                |                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
/// |                  Original RTP Packet Payload                  |
/// ```
///
/// The RTX packet carries the original's header (marker, CSRC list and
/// header extension unchanged, §4) with the retransmission stream's SSRC,
/// sequence number and payload type, then the original sequence number
/// (OSN), then the original payload. Used on the session's loop.
public enum RTXPacket {
    /// Length of the OSN field that precedes the original payload (§4).
    public static let osnLength = 2

    /// Bytes `write` needs for the retransmission of `header`'s packet:
    /// its header and payload, plus the OSN, without the original's padding.
    public static func length(of header: RTPHeader) -> Int {
        header.payloadRange.upperBound + osnLength
    }

    /// Writes the retransmission of `original` (whose parsed header is
    /// `header`) into `out` and returns its length, `length(of: header)`.
    ///
    /// `ssrc`, `sequence` and `payloadType` are the subscriber's RTX stream
    /// (its `apt`-associated payload type, RFC 4588 §8.6); `timestamp` is the
    /// original's timestamp as the subscriber's slot knows it (RTX keeps the
    /// original timestamp, §4); `originalSequence` is the OSN, the slot
    /// sequence number the subscriber asked for, not the publisher's.
    ///
    /// The original's padding is dropped (P cleared, padding bytes not
    /// copied), as libwebrtc does: it was the original sender's, and the
    /// OSN would no longer sit where a receiver looks for the padding count.
    /// Header-extension ids are copied as they are; their offsets in `out`
    /// equal those in `original`, so a remap to the subscriber's ids can run
    /// on `out` afterwards. `out` must hold `length(of: header)` bytes (at
    /// most `original.count + 2`) and `header` must have been parsed from
    /// `original` (our invariants, checked by preconditions). Allocates nothing.
    public static func write(original: UnsafeRawBufferPointer, header: RTPHeader,
                             into out: UnsafeMutableRawBufferPointer,
                             ssrc: UInt32, sequence: UInt16, timestamp: UInt32, payloadType: UInt8,
                             originalSequence: UInt16) -> Int {
        let headerLength = header.headerLength
        let payloadEnd = header.payloadRange.upperBound
        let total = payloadEnd + osnLength
        precondition(headerLength >= RTPHeader.fixedHeaderLength && payloadEnd <= original.count,
                     "header was not parsed from this packet")
        precondition(out.count >= total, "no room for the retransmission")
        // Header (fixed part, CSRCs, extension) as it was.
        UnsafeMutableRawBufferPointer(rebasing: out[..<headerLength])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: original[..<headerLength]))
        out[0] &= ~0x20  // P = 0: the original's padding is not copied.
        out[1] = (out[1] & 0x80) | (payloadType & 0x7F)
        out.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
        out.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
        out.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
        out.storeBytes(of: originalSequence.bigEndian, toByteOffset: headerLength, as: UInt16.self)
        let payloadStart = headerLength + osnLength
        UnsafeMutableRawBufferPointer(rebasing: out[payloadStart..<total])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: original[headerLength..<payloadEnd]))
        return total
    }

    /// Writes the retransmission of `original`; see the unsafe-buffer form.
    public static func write(original: [UInt8], header: RTPHeader, into out: UnsafeMutableRawBufferPointer,
                             ssrc: UInt32, sequence: UInt16, timestamp: UInt32, payloadType: UInt8,
                             originalSequence: UInt16) -> Int {
        original.withUnsafeBytes {
            write(original: $0, header: header, into: out, ssrc: ssrc, sequence: sequence,
                  timestamp: timestamp, payloadType: payloadType, originalSequence: originalSequence)
        }
    }

    /// Turns a received retransmission (`packet`, whose parsed header is
    /// `header`) back into its original, in place, and returns the OSN.
    ///
    /// The sequence number becomes the OSN, SSRC and payload type those of
    /// the primary stream (RFC 4588 §4: the receiver restores the original
    /// from the associated stream); the marker bit, timestamp, CSRCs and
    /// header extension stay. The OSN is removed, and so is the RTX
    /// packet's own padding (it belonged to the retransmission, e.g. a
    /// bandwidth probe). Returns nil and leaves `packet` unchanged when the
    /// payload is shorter than the OSN: a padding-only RTX packet is a probe,
    /// not an original (§4: it must not be passed on). Never traps on
    /// peer input when `header` was parsed from `packet`; allocates nothing.
    public static func unwrap(_ packet: inout [UInt8], header: RTPHeader,
                              primarySSRC: UInt32, primaryPayloadType: UInt8) -> UInt16? {
        let payload = header.payloadRange
        guard payload.count >= osnLength, payload.upperBound <= packet.count else { return nil }
        let osn = packet.readUInt16(at: payload.lowerBound)
        packet.removeLast(packet.count - payload.upperBound)   // the RTX padding, if any
        packet.removeSubrange(payload.lowerBound..<(payload.lowerBound + osnLength))
        packet[0] &= ~0x20
        packet[1] = (packet[1] & 0x80) | (primaryPayloadType & 0x7F)
        packet.writeUInt16(osn, at: 2)
        packet.writeUInt32(primarySSRC, at: 8)
        return osn
    }
}

import Wire

/// In-place rewriting of a forwarded packet's header.
///
/// A subscriber's receive slot is one continuous stream (ARCHITECTURE.md,
/// "Subscriptions: slots"), so the forwarder rewrites SSRC, sequence number
/// and timestamp of each packet it passes on, in the receive buffer itself.
/// These write fixed offsets of the fixed header only and allocate nothing
/// as long as the caller's array is uniquely referenced. Called on the
/// session's loop, like everything on the media path.
extension RTPHeader {
    /// Writes SSRC, sequence number and timestamp into `packet` and updates
    /// this header to match. `packet` must be the array this header was parsed from.
    public mutating func rewrite(ssrc: UInt32, sequenceNumber: UInt16, timestamp: UInt32,
                                            in packet: inout [UInt8]) {
        precondition(packet.count >= Self.fixedHeaderLength, "packet is not the one this header was parsed from")
        packet.writeUInt16(sequenceNumber, at: 2)
        packet.writeUInt32(timestamp, at: 4)
        packet.writeUInt32(ssrc, at: 8)
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
    }

    /// Rewrites to `ssrc` and shifts sequence number and timestamp by the
    /// given offsets, wrapping modulo 2^16 and 2^32 (RFC 3550 §5.1: both
    /// fields are serial numbers, so wrap-around is normal).
    public mutating func shift(ssrc: UInt32, sequenceNumberBy sequenceOffset: UInt16,
                                          timestampBy timestampOffset: UInt32, in packet: inout [UInt8]) {
        rewrite(ssrc: ssrc, sequenceNumber: sequenceNumber &+ sequenceOffset,
                timestamp: timestamp &+ timestampOffset, in: &packet)
    }

    /// Sets or clears the marker bit in `packet`.
    public mutating func setMarker(_ marker: Bool, in packet: inout [UInt8]) {
        precondition(packet.count >= Self.fixedHeaderLength, "packet is not the one this header was parsed from")
        packet[1] = (packet[1] & 0x7F) | (marker ? 0x80 : 0)
        self.marker = marker
    }

    /// Sets the payload type in `packet` (a subscriber may have negotiated a
    /// different number for the same codec). Only the low 7 bits are used.
    public mutating func setPayloadType(_ payloadType: UInt8, in packet: inout [UInt8]) {
        precondition(packet.count >= Self.fixedHeaderLength, "packet is not the one this header was parsed from")
        packet[1] = (packet[1] & 0x80) | (payloadType & 0x7F)
        self.payloadType = payloadType & 0x7F
    }
}

import RTP

/// Writes one subscriber's copy of a forwarded RTP packet straight into
/// send memory: the received (decrypted) packet with its slot's SSRC,
/// sequence number, timestamp and payload type (RFC 3550 §5.1) and its
/// header-extension ids in the subscriber's numbering (RFC 8285 §4.2).
/// Encryption then happens in the same memory.
enum ForwardedPacket {
    /// Copies `packet` (whose header is `header`) into `out` and rewrites
    /// the copy; returns the RTP length. `out` must hold at least `packet.count` bytes.
    /// `remap`, when given, is the publisher's `Participant.extensionIndexByID`
    /// and the subscriber's `Participant.localExtensionIDs`.
    static func write(_ packet: [UInt8], header: RTPHeader, into out: UnsafeMutableRawBufferPointer,
                      ssrc: UInt32, sequence: UInt16, timestamp: UInt32, payloadType: UInt8,
                      remap: (indexByID: [UInt8], subscriberIDs: [UInt8])?) -> Int {
        let length = packet.count
        precondition(length >= RTPHeader.fixedHeaderLength && out.count >= length, "no room for the forwarded copy")
        packet.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[..<length]).copyMemory(from: $0) }
        out[1] = (out[1] & 0x80) | (payloadType & 0x7F)
        out.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
        out.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
        out.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
        if let remap { remapExtensions(of: packet, header: header, in: out, length: length, remap) }
        return length
    }

    /// Rewrites the one-byte header-extension ids of a copy of `packet` in
    /// `out` (whose header, extension included, lies where the original's
    /// does) into the subscriber's numbering (RFC 8285 §4.2). Used for
    /// forwarded copies and for retransmissions (RFC 4588 keeps the header).
    static func remapExtensions(of packet: [UInt8], header: RTPHeader, in out: UnsafeMutableRawBufferPointer, length: Int,
                                _ remap: (indexByID: [UInt8], subscriberIDs: [UInt8])) {
        guard header.extensionForm == .oneByte else { return }
        // Elements are read from the received packet and their id nibble
        // rewritten in the copy; an element the subscriber did not
        // negotiate becomes id 15, where receivers stop parsing (§4.2).
        for element in header.extensionElements(in: packet) {
            let at = element.range.lowerBound - 1
            guard at >= 0, at < length else { continue }
            let index = Int(remap.indexByID[Int(element.id & 0x0F)])
            let ids = remap.subscriberIDs
            let newID: UInt8 = index > 0 && index <= ids.count && ids[index - 1] != 0 ? ids[index - 1] : 15
            out[at] = newID << 4 | (out[at] & 0x0F)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
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

    /// Bytes `stampTransportWide` may add: a whole one-byte extension block.
    static let transportWideGrowth = 8

    /// Stamps the copy in `out` (`length` bytes, written from `original`,
    /// whose header is `header`) with the subscriber's transport-wide sequence
    /// number under the subscriber's extension id; returns the new length,
    /// and where the number's two bytes are (a held copy's is given later)
    /// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2, RFC 8285).
    /// The publisher's own transport-wide element (`originalID`), when there
    /// is one, is rewritten in place; otherwise an element is added at the
    /// end of the extension block, or a one-byte block is added after the
    /// CSRCs: 4 or 8 bytes, the rest of the packet moved up. A packet whose
    /// header extension is of a profile that is not RFC 8285 cannot be
    /// stamped (`canStampTransportWide`). `out` must hold
    /// `length + transportWideGrowth` bytes.
    static func stampTransportWide(_ out: UnsafeMutableRawBufferPointer, length: Int, original: [UInt8], header: RTPHeader,
                                   originalID: UInt8, id: UInt8, sequence: UInt16) -> (length: Int, sequenceAt: Int) {
        precondition(out.count >= length + transportWideGrowth, "no room to stamp the copy")
        let high = UInt8(sequence >> 8)
        let low = UInt8(truncatingIfNeeded: sequence)
        switch header.extensionForm {
        case .oneByte?:
            if originalID != 0, let range = header.extensionElement(id: originalID, in: original), range.count == 2 {
                out[range.lowerBound - 1] = id << 4 | 1
                out[range.lowerBound] = high
                out[range.lowerBound + 1] = low
                return (length, range.lowerBound)
            }
            let at = header.extensionRange.upperBound
            makeRoom(4, at: at, in: out, length: length)
            (out[at], out[at + 1], out[at + 2], out[at + 3]) = (id << 4 | 1, high, low, 0)
            growExtension(out, header: header)
            return (length + 4, at + 1)
        case .twoByte?:
            if originalID != 0, let range = header.extensionElement(id: originalID, in: original), range.count == 2 {
                out[range.lowerBound - 2] = id
                out[range.lowerBound] = high
                out[range.lowerBound + 1] = low
                return (length, range.lowerBound)
            }
            let at = header.extensionRange.upperBound
            makeRoom(4, at: at, in: out, length: length)
            (out[at], out[at + 1], out[at + 2], out[at + 3]) = (id, 2, high, low)
            growExtension(out, header: header)
            return (length + 4, at + 2)
        case nil:
            precondition(!header.hasExtension, "an opaque header extension cannot be stamped")
            let at = header.payloadRange.lowerBound
            makeRoom(8, at: at, in: out, length: length)
            (out[at], out[at + 1], out[at + 2], out[at + 3]) = (0xBE, 0xDE, 0x00, 0x01)
            (out[at + 4], out[at + 5], out[at + 6], out[at + 7]) = (id << 4 | 1, high, low, 0)
            out[0] |= 0x10   // X
            return (length + 8, at + 5)
        }
    }

    /// False for a header extension of a profile that is not RFC 8285, whose
    /// contents Cohort cannot extend.
    static func canStampTransportWide(_ header: RTPHeader) -> Bool {
        !header.hasExtension || header.extensionForm != nil
    }

    /// Moves `out[at..<length]` up by `count` bytes.
    private static func makeRoom(_ count: Int, at: Int, in out: UnsafeMutableRawBufferPointer, length: Int) {
        let base = out.baseAddress!
        memmove(base + at + count, base + at, length - at)
    }

    /// Adds one word to the extension block's length field (RFC 3550 §5.3.1).
    private static func growExtension(_ out: UnsafeMutableRawBufferPointer, header: RTPHeader) {
        let field = header.extensionRange.lowerBound - 2
        let words = (UInt16(out[field]) << 8 | UInt16(out[field + 1])) + 1
        out[field] = UInt8(words >> 8)
        out[field + 1] = UInt8(truncatingIfNeeded: words)
    }
}

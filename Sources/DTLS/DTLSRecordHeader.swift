/// The few facts about DTLS record headers (RFC 6347 §4.1) that the engine
/// needs outside OpenSSL: where records start in a datagram, their content
/// type and epoch, and their 48-bit sequence number.
///
/// ```
/// type(1) version(2) epoch(2) sequence_number(6) length(2) fragment(length)
/// ```
enum DTLSRecordHeader {
    static let length = 13
    /// ContentType change_cipher_spec (RFC 5246 §6.2.1).
    static let changeCipherSpec: UInt8 = 20
    /// ContentType handshake.
    static let handshake: UInt8 = 22

    /// Offsets of the whole records in `datagram`; a trailing partial record is left out.
    static func recordOffsets(in datagram: [UInt8]) -> [Int] {
        var offsets: [Int] = []
        var offset = 0
        while offset + length <= datagram.count {
            let bodyLength = Int(datagram[offset + 11]) << 8 | Int(datagram[offset + 12])
            guard offset + length + bodyLength <= datagram.count else { break }
            offsets.append(offset)
            offset += length + bodyLength
        }
        return offsets
    }

    /// True when some record in `datagram` is a handshake or ChangeCipherSpec
    /// record, i.e. the peer may be retransmitting a flight.
    static func carriesHandshake(_ datagram: [UInt8]) -> Bool {
        recordOffsets(in: datagram).contains { datagram[$0] == handshake || datagram[$0] == changeCipherSpec }
    }

    /// Gives every epoch-0 record in `datagram` the next sequence number from
    /// `next`. Epoch 0 carries no MAC (RFC 6347 §4.1: the null cipher), so its
    /// sequence numbers can be rewritten; doing it for every epoch-0 record we
    /// send keeps them strictly increasing, which lets a resent copy of a
    /// flight pass the peer's replay window (RFC 6347 §4.1.2.6).
    static func renumberEpochZero(_ datagram: inout [UInt8], next: inout UInt64) {
        for offset in recordOffsets(in: datagram) where datagram[offset + 3] == 0 && datagram[offset + 4] == 0 {
            let sequence = next & 0xFFFF_FFFF_FFFF
            next &+= 1
            for i in 0..<6 {
                datagram[offset + 5 + i] = UInt8(truncatingIfNeeded: sequence >> (8 * UInt64(5 - i)))
            }
        }
    }
}
